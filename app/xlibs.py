"""Check, before Qt starts, that the X libraries Qt's xcb plugin loads are installed (Linux).

Without one of them the app aborts at its first line, and Qt names only libxcb-cursor0 even
when libxcb-icccm4 and libxcb-keysyms1 are missing too. `make run` calls

    python -m app.xlibs

which imports no Qt: it looks each library up in the dynamic loader's cache (`ldconfig -p`),
else tries to load it, and when any is missing prints the one `apt-get install …` line that
installs them all and exits with status 1.

REQUIRED lists what PySide6 6.11's plugins/platforms/libqxcb.so and libQt6XcbQpa.so.6 need
beyond what PySide6 bundles (objdump -p … | grep NEEDED), with the Debian/Ubuntu package of
each (dpkg -S on Debian 12). A newer PySide6 may need more: the plugin itself is also asked
(`ldd libqxcb.so`), and a library it reports "not found" is named by its file.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

REQUIRED = {  # library file → Debian / Ubuntu package
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-util.so.1": "libxcb-util1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6",
    "libGL.so.1": "libgl1",
    "libEGL.so.1": "libegl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libdbus-1.so.3": "libdbus-1-3",
}
LDCONFIG = ("ldconfig", "/sbin/ldconfig", "/usr/sbin/ldconfig")  # /sbin is not on a user's PATH


def loader_cache() -> set[str] | None:
    """Return the library files the dynamic loader knows (`ldconfig -p`), None if it cannot tell."""
    for cmd in LDCONFIG:
        exe = shutil.which(cmd)
        if exe is None:
            continue
        try:
            out = subprocess.run([exe, "-p"], capture_output=True, text=True, timeout=10).stdout
        except (OSError, subprocess.SubprocessError):
            continue
        return {line.split()[0] for line in out.splitlines()[1:] if line.strip()}
    return None


def loadable(name: str) -> bool:
    """Whether the dynamic loader can load this library file (LD_LIBRARY_PATH included)."""
    try:
        ctypes.CDLL(name)
        return True
    except OSError:
        return False


def default_lookup() -> Callable[[str], bool]:
    cache = loader_cache() or set()
    return lambda name: name in cache or loadable(name)


def xcb_plugin() -> Path | None:
    """Return PySide6's xcb platform plugin, found without importing Qt."""
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    plugin = Path(list(spec.submodule_search_locations)[0]) / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    return plugin if plugin.exists() else None


def not_found_by_ldd(plugin: Path | None) -> list[str]:
    """Libraries `ldd plugin` reports as "not found" (none when ldd or the plugin is absent)."""
    ldd = shutil.which("ldd")
    if plugin is None or ldd is None:
        return []
    try:
        out = subprocess.run([ldd, str(plugin)], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.split()[0] for line in out.splitlines() if "not found" in line]


def missing(lookup: Callable[[str], bool], extra: Iterable[str] = ()) -> list[str]:
    """Return the required library files that lookup does not find, REQUIRED's order first."""
    out = [name for name in REQUIRED if not lookup(name)]
    return out + [name for name in extra if name not in out]


def message(absent: list[str]) -> str:
    """The words for a person who has to install absent libraries (empty when none are)."""
    if not absent:
        return ""
    packages = [REQUIRED[n] for n in absent if n in REQUIRED]
    unknown = [n for n in absent if n not in REQUIRED]
    lines = [f"LearnScope's window needs {len(absent)} X librar{'y' if len(absent) == 1 else 'ies'} "
             f"that {'is' if len(absent) == 1 else 'are'} not installed: {', '.join(absent)}."]
    if packages:
        lines.append("On Debian or Ubuntu, install them with:")
        lines.append(f"    sudo apt-get install {' '.join(packages)}")
    if unknown:
        lines.append(f"Install the package that provides {', '.join(unknown)} "
                     "(Qt's xcb platform plugin asks for it).")
    lines.append("On other systems, install the packages that provide these files.")
    return "\n".join(lines)


def needs_check(platform: str = sys.platform, env: dict | os._Environ = os.environ) -> bool:
    """Only Linux uses the xcb plugin, and not when Qt is told to use another platform."""
    chosen = env.get("QT_QPA_PLATFORM", "")
    return platform.startswith("linux") and (not chosen or chosen.startswith("xcb"))


def main(lookup: Callable[[str], bool] | None = None) -> int:
    if not needs_check():
        return 0
    text = message(missing(lookup or default_lookup(), not_found_by_ldd(xcb_plugin())))
    if text:
        print(text, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
