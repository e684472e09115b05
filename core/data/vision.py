"""Image data sets as whole uint8 tensors: torchvision's MNIST/Fashion-MNIST/CIFAR-10 and image folders.

Everything is loaded into memory at once (a learning lab works with small sets), so a training
loop can index one tensor instead of decoding images per batch. Image folders are decoded once
and cached (core.data.folder_cache). ``load_mnist``, ``load_fashion_mnist``, ``load_cifar10``
and ``load_folder`` are the registry's loaders (core.data.registry).
"""
from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import re
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from PIL import Image

from core import ConfigError, DataError
from . import folder_cache, registry
from .registry import Loaded, LoadContext

__all__ = ["DataError", "ImageSet", "load_torchvision", "load_image_folder", "IMAGE_EXTENSIONS"]

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"})
SKIPPED_NAMES = 20  # how many skipped files are named (the count covers them all)

@dataclass(frozen=True)
class ImageSet:
    """A whole split in memory: uint8 N×C×H×W images (CPU), int64 labels, class names."""

    images: torch.Tensor
    labels: torch.Tensor
    classes: tuple[str, ...]
    skipped: int = 0  # unreadable / non-image files skipped
    skipped_files: tuple[str, ...] = ()  # the first SKIPPED_NAMES of them, relative to the folder


@dataclass(frozen=True)
class TorchvisionSet:
    """The registry's loader for one torchvision set (see core.data.registry for the contract)."""

    cls_name: str  # its class in torchvision.datasets
    folder: str    # the folder under data.root where its files must be

    def __call__(self, dc, seed: int, ctx: LoadContext) -> Loaded:
        tr = self.split(dc.dataset, ctx.root, train=True, download=dc.download)
        te = self.split(dc.dataset, ctx.root, train=False, download=dc.download)
        x, y = ctx.take(tr.images, tr.labels, dc.n_train)
        xt, yt = ctx.take(te.images, te.labels, dc.n_test)
        return Loaded(x, y, xt, yt, tr.classes)

    def split(self, name: str, root: str | Path, train: bool, download: bool = False) -> ImageSet:
        """Return one split read from ``root`` (downloaded there if asked); ``name`` is for messages."""
        cls_name, sub = self.cls_name, self.folder
        root = Path(root).expanduser().resolve()
        split = "training" if train else "test"
        import torchvision.datasets as tvd  # lazy: importing torchvision costs about a second

        # torchvision reads MNIST/FashionMNIST from its old processed/*.pt files whenever both exist
        # (with torch.load(weights_only=True)), before it looks at raw/.
        processed = root / cls_name / "processed"
        legacy = (processed / ("training.pt" if train else "test.pt")
                  if cls_name != "CIFAR10" and all((processed / f).is_file() for f in ("training.pt", "test.pt"))
                  else None)
        if legacy is not None:
            try:
                with warnings.catch_warnings():  # torch's warnings about an odd pickle would repeat the sentence
                    warnings.simplefilter("ignore")
                    return _from_torchvision(getattr(tvd, cls_name)(str(root), train=train, download=download))
            except Exception:  # torch refused a pickle that is more than tensors, or the file is damaged
                raise DataError(f"The file {legacy} is in torchvision's old {name} format and cannot be read "
                                f"safely (it holds more than plain tensors, or is damaged); delete the folder "
                                f"{processed} so that the raw files in {root / sub} are read instead (press "
                                f"Download, or set `data.download = true`, if they are not there yet).") from None
        try:
            ds = getattr(tvd, cls_name)(str(root), train=train, download=download)
        except RuntimeError as e:  # torchvision's "Dataset not found or corrupted"
            if download:
                raise DataError(f"The {name} {split} files in {root / sub} are still missing or damaged after "
                                f"downloading ({e}); delete that folder and press Download again.") from e
            raise DataError(f"The {name} {split} files were not found (or are incomplete) in {root / sub}; set "
                            f"`data.download = true` in the config or press Download, or put the files there.") from e
        except Exception as e:  # network errors, unreadable or malformed files
            what = "Downloading" if download else "Reading"
            raise DataError(f"{what} the {name} {split} files in {root / sub} failed ({e}); check the network "
                            f"connection, or delete that folder and download the files again.") from e
        return _from_torchvision(ds)


load_mnist = TorchvisionSet("MNIST", "MNIST/raw")
load_fashion_mnist = TorchvisionSet("FashionMNIST", "FashionMNIST/raw")
load_cifar10 = TorchvisionSet("CIFAR10", "cifar-10-batches-py")


def load_torchvision(name: str, root: str | Path, train: bool, download: bool = False) -> ImageSet:
    """Return one split of a registered torchvision set (MNIST, Fashion-MNIST, CIFAR-10)."""
    known = {n: f for n in registry.names() if isinstance(f := registry.get(n).loader(), TorchvisionSet)}
    if name not in known:
        raise DataError(f"Unknown data set {name!r}; use one of {', '.join(sorted(known))} or an image folder.")
    return known[name].split(name, root, train, download)


def load_folder(dc, seed: int, ctx: LoadContext) -> Loaded:
    """The registry's loader for an image folder (see core.data.registry for the contract):
    the test split is data.test_root's images, or held out of the one folder before N is applied."""
    s = load_image_folder(ctx.root, dc.image_size, ctx.progress, min_classes=2)
    skipped, skipped_files = s.skipped, s.skipped_files
    x, y, classes, g = s.images, s.labels, s.classes, ctx.generator
    if ctx.test_root:
        t = load_image_folder(ctx.test_root, dc.image_size, ctx.progress, min_classes=2)
        if t.classes != classes:
            raise DataError(f"The test folder {dc.test_root} has classes {list(t.classes)} but "
                            f"the training folder has {list(classes)}; give both the same "
                            "sub-folders.")
        skipped += t.skipped
        skipped_files += t.skipped_files
        xt, yt = ctx.take(t.images, t.labels, dc.n_test)
    else:
        order = torch.randperm(len(y), generator=g)
        k = dc.n_test or max(1, len(y) // 10)
        if k >= len(y):
            raise ConfigError(f"data.n_test: {k} test images leave none to train on; the "
                              f"folder {dc.root} holds {len(y)} images")
        xt, yt = x[order[:k]], y[order[:k]]
        x, y = x[order[k:]], y[order[k:]]
    x, y = ctx.take(x, y, dc.n_train)
    return Loaded(x, y, xt, yt, classes, skipped, skipped_files)


def _from_torchvision(ds) -> ImageSet:
    """Return a torchvision data set's images (N×C×H×W uint8), labels and class names."""
    data = torch.as_tensor(np.asarray(ds.data))
    # MNIST keeps N×H×W grey images, CIFAR-10 N×H×W×C; both become N×C×H×W.
    images = data.unsqueeze(1) if data.ndim == 3 else data.permute(0, 3, 1, 2)
    labels = torch.as_tensor(np.asarray(ds.targets), dtype=torch.int64)
    return ImageSet(images.contiguous(), labels.contiguous(), tuple(str(c) for c in ds.classes))


def load_image_folder(root: str | Path, size: int, progress: Callable[[int, int], None] | None = None,
                      cache_dir: str | Path | None = None, *, min_classes: int = 1) -> ImageSet:
    """Return every image under ``root/<class>/`` as RGB ``size``×``size``, decoding once and caching.

    Classes are the sorted names of the non-hidden sub-folders (searched recursively); a class
    folder with no readable image keeps its label index. Each image is resized to size×size with
    antialiased bilinear filtering, ignoring the aspect ratio (like torchvision's Resize((s, s)):
    nothing is cropped away). Transparent images are composited onto white. 16-bit images are
    scaled by their type's range (value / 257); float images are taken as 0..1 when all their
    values lie in it, otherwise stretched from their own minimum to their maximum (NaN counts
    as the minimum). Non-image and unreadable files (broken or looping links, folders inside a
    class or files without read permission, images over ``PIL.Image.MAX_IMAGE_PIXELS``) are
    counted in ``skipped`` and named in ``skipped_files``, with the reason in brackets when it is
    not "undecodable". A class folder that cannot be read is a DataError naming it and why (its
    class would have no example). Fewer than ``min_classes`` class folders, or images in fewer
    than ``min_classes`` of them, is a DataError. ``progress(done, total)`` is called from the
    calling thread about every 1% of the decoding (once with (n, n) on a cache hit); an exception
    raised by it stops the decoding and propagates, which is how a caller cancels.
    """
    if not isinstance(size, int) or size < 1:
        raise DataError(f"The image size must be a positive whole number of pixels, not {size!r}; "
                        f"fix it in the config.")
    root = Path(root).expanduser().resolve()
    classes, paths, labels, others, digest = _list_folder(root)
    if len(classes) < min_classes:
        raise DataError(f"The image folder {root} has one class ({classes[0]}{os.sep}): a classifier needs "
                        f"at least two class folders; add a sub-folder of images for each other class.")
    cache = folder_cache.path(root, size, digest, cache_dir)
    hit = folder_cache.read(cache, size)
    if hit is not None:
        hit = ImageSet(*hit)
        _check_classes_present(root, hit, min_classes)
        if progress:
            progress(len(hit.labels), len(hit.labels))
        return hit

    images, ok, reasons = _decode_all(paths, size, progress)
    if not ok.any():
        raise DataError(f"The image folder {root} contains no readable image ({len(paths) + len(others)} files "
                        f"skipped); add .jpg or .png files to its class sub-folders.")
    if not ok.all():
        images = images[ok]
    unreadable = [os.path.relpath(paths[i], root) + (f" ({reasons[i]})" if reasons.get(i) else "")
                  for i in np.flatnonzero(~ok)[:SKIPPED_NAMES]]
    result = ImageSet(torch.from_numpy(images).permute(0, 3, 1, 2).contiguous(),
                      torch.from_numpy(np.asarray(labels, dtype=np.int64)[ok]),
                      tuple(classes), int(len(others) + (~ok).sum()),
                      tuple((unreadable + others)[:SKIPPED_NAMES]))
    _check_classes_present(root, result, min_classes)
    folder_cache.write(cache, result)
    return result


def _check_classes_present(root: Path, data: ImageSet, min_classes: int) -> None:
    """Refuse a set whose readable images all fall in fewer than ``min_classes`` classes."""
    present = sorted(set(data.labels.tolist()))
    if len(present) < min_classes:
        only = ", ".join(data.classes[i] + os.sep for i in present)
        raise DataError(f"Only one class folder of {root} ({only}) has readable images: a classifier needs "
                        f"images in at least two class folders; add images to the others.")


def _os_reason(err: OSError, path: str) -> str:
    """Return why ``path`` could not be read, in a few words."""
    if err.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if err.errno == errno.ELOOP:
        return "a link that loops"
    if err.errno == errno.ENOENT and os.path.islink(path):
        return "a broken link"
    return err.strerror or type(err).__name__


def class_names(root: Path) -> list[str]:
    """Return an image folder's classes, its sub-folders not named with a dot, in order,
    without reading an image; DataError says why there are none."""
    if not root.exists():
        raise DataError(f"The image folder {root} does not exist; check the path or create it with one sub-folder per class.")
    if not root.is_dir():
        raise DataError(f"{root} is a file, not a folder; choose a folder that has one sub-folder of images per class.")
    try:
        with os.scandir(root) as it:
            entries = [e for e in it if not e.name.startswith(".")]
    except OSError as e:
        raise DataError(f"The image folder {root} cannot be read ({_os_reason(e, str(root))}); check its permissions or choose another folder.") from e
    classes = sorted(e.name for e in entries if e.is_dir())
    if not classes:
        what = "is empty" if not entries else "has no class sub-folders"
        raise DataError(f"The image folder {root} {what}; put the images in one sub-folder per class, "
                        f"e.g. {root / 'cats'}/*.jpg.")
    return classes


def _list_folder(root: Path) -> tuple[list[str], list[str], list[int], list[str], str]:
    """Return (classes, image file paths, their labels, the non-image files relative to root,
    digest of the listing)."""
    classes = class_names(root)
    paths: list[str] = []
    labels: list[int] = []
    others: list[str] = []
    # The digest covers every name, byte size and mtime, so any added, removed or edited file changes it.
    digest = hashlib.sha256(json.dumps(classes).encode())
    skip = len(str(root)) + 1

    def unreadable(path: str, err: OSError) -> None:  # skipped and counted like a corrupt file
        name = path[skip:] + (os.sep if os.path.isdir(path) else "")
        others.append(f"{name} ({_os_reason(err, path)})")
        digest.update(f"\0!{others[-1]}".encode("utf-8", "surrogateescape"))

    def walk(folder: str, label: int, is_class: bool = False) -> None:
        try:
            with os.scandir(folder) as it:
                found = sorted((e for e in it if not e.name.startswith(".")), key=lambda e: e.name)
        except OSError as err:  # a folder without read permission, or one that vanished
            if is_class:  # skipped, its whole class would train without a single example
                raise DataError(_unreadable_class(folder, err)) from None
            unreadable(folder, err)
            return
        for e in found:
            if e.is_dir(follow_symlinks=False):  # not following links inside classes avoids cycles
                walk(e.path, label)
            elif os.path.splitext(e.name)[1].lower() in IMAGE_EXTENSIONS:
                try:
                    st = e.stat()  # follows a link: a broken or looping one raises
                except OSError as err:
                    unreadable(e.path, err)
                    continue
                digest.update(f"\0{e.path[skip:]}\0{st.st_size}\0{st.st_mtime_ns}".encode("utf-8", "surrogateescape"))
                paths.append(e.path)
                labels.append(label)
            else:
                others.append(e.path[skip:])
                digest.update(f"\0?{e.path[skip:]}".encode("utf-8", "surrogateescape"))

    for label, name in enumerate(classes):
        walk(str(root / name), label, is_class=True)
    return classes, paths, labels, others, digest.hexdigest()


def _unreadable_class(folder: str, err: OSError) -> str:
    reason = _os_reason(err, folder)
    fix = "give yourself read access to it (chmod -R u+rX on Linux and macOS)" if reason == "permission denied" else "check it"
    return f"Cannot read the class folder {folder}: {reason}; {fix} or move it out of the image folder."


def _megapixels(pixels: int) -> str:
    return f"too large ({pixels / 1e6:.0f} megapixels)" if pixels >= 1e6 else f"too large ({pixels:,} pixels)"


def _to_8bit(img: Image.Image) -> Image.Image:
    """Return a 16-bit (I;16*, I) or float (F) grey image as 8-bit grey ("L"), scaled, not clipped.

    16-bit: by the type's range (65535 -> 255, i.e. / 257); mode I (how Pillow may read a 16-bit
    file) the same when its values fit 0..65535, else stretched from its minimum to its maximum.
    Float: 0..1 -> 0..255 when every finite value lies in [0, 1], else stretched from the image's
    own minimum to its maximum (a constant image outside [0, 1] is clipped); NaN counts as the
    minimum, ±inf as the ends."""
    a = np.asarray(img)
    if img.mode == "F":
        a = a.astype(np.float64)
        finite = a[np.isfinite(a)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
        a = np.nan_to_num(a, nan=lo, posinf=hi, neginf=lo)
        if 0.0 <= lo and hi <= 1.0:
            a = a * 255.0
        elif hi > lo:
            a = (a - lo) * (255.0 / (hi - lo))
    else:
        a = a.astype(np.int64)
        lo, hi = (int(a.min()), int(a.max())) if a.size else (0, 0)
        if img.mode.startswith("I;16") or (lo >= 0 and hi <= 65535):
            a = a / 257.0
        elif hi > lo:
            a = (a - lo) * (255.0 / (hi - lo))
    return Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8))


def _decode_one(path: str, size: int) -> np.ndarray | str:
    """Return the image at ``path`` as a size×size×3 uint8 array, or why it cannot be read: a few
    words, or "" for an undecodable file (truncated, random bytes, an odd mode)."""
    try:
        # One read, then parsing from memory: fewer GIL hand-offs between threads than many small reads.
        with open(path, "rb") as f:
            buf = io.BytesIO(f.read())
    except OSError as e:  # it vanished, or lost its read permission, since the listing
        return _os_reason(e, path)
    try:
        with Image.open(buf) as img:
            if img.format == "JPEG" and img.width >= 2 * size and img.height >= 2 * size:
                img.draft("RGB", (size, size))  # decode at 1/2..1/8 scale: far faster for big photos
            limit = Image.MAX_IMAGE_PIXELS
            if limit and img.width * img.height > limit:  # after the draft, which may shrink a JPEG enough
                return _megapixels(img.width * img.height)
            if img.mode in ("I", "F") or img.mode.startswith("I;16"):
                img = _to_8bit(img)  # convert("RGB") would clip 16-bit values and blacken 0..1 floats
            if "A" in img.getbands() or "transparency" in img.info:
                rgba = img.convert("RGBA")
                rgb = Image.new("RGB", rgba.size, (255, 255, 255))
                rgb.paste(rgba, mask=rgba.getchannel("A"))
            elif img.mode == "RGB":
                img.load()  # convert() would only copy it
                rgb = img
            else:
                rgb = img.convert("RGB")
            if rgb.size != (size, size):
                rgb = rgb.resize((size, size), Image.Resampling.BILINEAR)  # Pillow's resize is antialiased
            return np.asarray(rgb, dtype=np.uint8)
    except Image.DecompressionBombError as e:  # over twice the limit: Pillow refuses to open it
        m = re.search(r"\((\d+) pixels\)", str(e))
        return _megapixels(int(m.group(1))) if m else "too large"
    except Exception:  # any other decoder failure (truncated, random bytes, odd mode) means "skip"
        return ""


def _decode_all(paths: list[str], size: int,
                progress: Callable[[int, int], None] | None) -> tuple[np.ndarray, np.ndarray, dict[int, str]]:
    """Return (N×size×size×3 uint8 array, boolean mask of the rows that decoded, {row: why it did
    not} for the rows skipped with a reason)."""
    total = len(paths)
    out = np.zeros((total, size, size, 3), dtype=np.uint8)  # preallocated: no per-image tensors or stacking
    ok = np.zeros(total, dtype=bool)
    reasons: dict[int, str] = {}
    step = max(1, -(-total // 100))  # one chunk is about 1% of the work, so progress fires about every 1%

    def run(start: int) -> int:
        for i in range(start, min(start + step, total)):
            arr = _decode_one(paths[i], size)
            if isinstance(arr, str):
                if arr:
                    reasons[i] = arr
            else:
                out[i] = arr
                ok[i] = True
        return min(start + step, total) - start

    # Pillow releases the GIL while decoding and resizing, so threads overlap that work; the header
    # parsing in Python does not, which caps the gain for tiny images such as CIFAR's 32×32 JPEGs.
    pool = ThreadPoolExecutor(max_workers=min(32, os.cpu_count() or 1))
    # _decode_one skips images over Image.MAX_IMAGE_PIXELS with a reason, so Pillow's
    # DecompressionBombWarning (issued while opening one) would only repeat it on the terminal.
    # The filter is process-wide (the worker threads see it) and lasts until they have all ended.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            if progress:
                progress(0, total)
            done = 0
            for n in pool.map(run, range(0, total, step)):
                done += n
                if progress:
                    progress(done, total)
        finally:  # if progress raised (to cancel, say), drop the chunks not yet started
            pool.shutdown(wait=True, cancel_futures=True)
    return out, ok, reasons
