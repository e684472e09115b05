import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Importing the whole engine, and training, with Qt and the app made unimportable.
SCRIPT = r"""
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('PySide6', 'shiboken6', 'pyqtgraph', 'app', 'PyQt5', 'PyQt6'):
            raise ImportError('blocked: ' + name)
sys.meta_path.insert(0, Block())
import core.experiment.config, core.nets.models, core.engine.train, core.store.runs, core.experiment.presets, core.cli.main
import core.data.loader, core.data.toy2d, core.data.shapes, core.data.vision
from core.cli.main import main
sys.exit(main(['train', '--preset', 'circles-mlp', '--epochs', '1', '--device', 'cpu', '--out', sys.argv[1]]))
"""


def test_core_imports_and_trains_without_qt(tmp_path):
    r = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "test" in r.stdout


def test_no_module_in_core_names_qt_or_app():
    for path in (ROOT / "core").rglob("*.py"):
        for line in path.read_text(encoding="utf-8").splitlines():
            words = line.split()
            if words[:1] in (["import"], ["from"]) and len(words) > 1:
                top = words[1].split(".")[0]
                assert top not in ("PySide6", "shiboken6", "pyqtgraph", "app"), f"{path}: {line}"
