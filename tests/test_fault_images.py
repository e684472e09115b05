"""Issue 13, image folders and image files: what a careless user's or a hostile file does to the
loaders (cases 6, 9 and the image parts of 10). Each test fails on the code before the fix."""
from __future__ import annotations

import errno
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from core.experiment import config as cfg
from core.experiment import presets
from core.experiment.config import DataConfig
from core.data import loader, vision
from core.data.vision import load_image_folder, load_torchvision
from core import DataError
import lab
from core.engine.train import Trainer
from core.store.writers import recorded


def two_classes(root: Path, n: int = 3, classes=("a", "b")) -> Path:
    """``n`` small uniform PNGs in each class folder."""
    for k, c in enumerate(classes):
        (root / c).mkdir(parents=True)
        for i in range(n):
            Image.new("RGB", (8, 8), (40 * i, 100 * k, 0)).save(root / c / f"{i}.png")
    return root


def load(root: Path, tmp_path: Path, size: int = 8):
    return load_image_folder(root, size, cache_dir=tmp_path / "cache")


# -- case 6: broken links, looping links and unreadable folders are skipped, counted and named ---

def test_a_dangling_symlink_is_skipped_and_named(tmp_path):
    root = two_classes(tmp_path / "imgs")
    os.symlink(tmp_path / "gone.png", root / "a" / "dangling.png")
    s = load(root, tmp_path)
    assert len(s.labels) == 6 and s.skipped == 1
    assert s.skipped_files == (os.path.join("a", "dangling.png") + " (a broken link)",)


def test_a_looping_symlink_is_skipped_and_named(tmp_path):
    root = two_classes(tmp_path / "imgs")
    os.symlink(root / "b" / "loop.png", root / "b" / "loop.png")  # points at itself
    os.symlink(root / "b" / "y.jpg", root / "b" / "x.jpg")  # a cycle of two
    os.symlink(root / "b" / "x.jpg", root / "b" / "y.jpg")
    s = load(root, tmp_path)
    assert len(s.labels) == 6 and s.skipped == 3
    assert all(name.endswith(" (a link that loops)") for name in s.skipped_files)


def _refuse(monkeypatch, blocked: Path) -> None:
    """Make os.scandir refuse ``blocked`` as a folder without read permission does (running as
    root, chmod would not stop the test from reading it)."""
    real = os.scandir

    def scandir(path="."):
        if os.fspath(path) == str(blocked):
            raise PermissionError(errno.EACCES, "Permission denied", str(blocked))
        return real(path)
    monkeypatch.setattr(os, "scandir", scandir)


def test_unreadable_class_folder_says_permission(tmp_path, monkeypatch):
    # issue 22: skipped, the class would train without an example; with two classes the
    # refusal spoke of images missing, not of the permission that hid them
    root = two_classes(tmp_path / "imgs", classes=("a", "b", "c"))
    _refuse(monkeypatch, root / "b")
    expected = (f"Cannot read the class folder {root / 'b'}: permission denied; give yourself "
                "read access to it (chmod -R u+rX on Linux and macOS) or move it out of the "
                "image folder.")
    with pytest.raises(DataError) as raised:
        load(root, tmp_path)
    assert str(raised.value) == expected
    result = recorded(Trainer(cfg.with_overrides(lab.circles(1), [
        "data.dataset=folder", f"data.root={root}", "data.image_size=8", "model.hidden=[4]"])), tmp_path / "runs").fit()
    assert (result.status, result.error_kind, result.message) == ("failed", "data", expected)


def test_an_unreadable_folder_inside_a_class_is_skipped_and_named(tmp_path, monkeypatch):
    root = two_classes(tmp_path / "imgs", classes=("a", "b", "c"))
    (root / "b" / "more").mkdir()
    Image.new("RGB", (8, 8)).save(root / "b" / "more" / "0.png")
    _refuse(monkeypatch, root / "b" / "more")
    s = load(root, tmp_path)
    assert s.classes == ("a", "b", "c") and s.labels.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert s.skipped == 1
    assert s.skipped_files == (os.path.join("b", "more") + os.sep + " (permission denied)",)


def test_an_unreadable_image_file_is_skipped_and_named(tmp_path, monkeypatch):
    root = two_classes(tmp_path / "imgs")
    real = open
    blocked = str(root / "a" / "1.png")

    def guarded(path, *a, **k):
        if os.fspath(path) == blocked:
            raise PermissionError(errno.EACCES, "Permission denied", blocked)
        return real(path, *a, **k)
    monkeypatch.setattr(vision, "open", guarded, raising=False)  # the decoder's open(), not the listing's
    s = load(root, tmp_path)
    assert len(s.labels) == 5 and s.skipped_files == (os.path.join("a", "1.png") + " (permission denied)",)


def test_an_unreadable_image_folder_is_a_data_error_naming_it(tmp_path, monkeypatch):
    root = two_classes(tmp_path / "imgs")
    _refuse(monkeypatch, root)
    with pytest.raises(DataError, match="cannot be read \\(permission denied\\); check its permissions"):
        load(root, tmp_path)


def test_an_error_reading_the_data_is_not_called_a_run_files_write_error(monkeypatch):
    def broken(*a, **k):
        raise FileNotFoundError(errno.ENOENT, "No such file or directory", "/data/imgs/a/x.png")
    monkeypatch.setattr(loader, "load", broken)
    result = Trainer(cfg.with_overrides(presets.load("circles-mlp"), ["train.epochs=1", "train.device=cpu"])).fit()
    assert result.status == "failed" and result.error_kind == "data"
    assert "/data/imgs/a/x.png" in result.message and "No such file or directory" in result.message
    assert "Could not write" not in result.message and "disk space" not in result.message


def test_a_run_on_a_folder_with_a_broken_link_trains_and_names_it(tmp_path):
    root = two_classes(tmp_path / "imgs", n=5)
    os.symlink(tmp_path / "gone.png", root / "a" / "dangling.png")
    exp = cfg.with_overrides(presets.load("shapes-cnn"), [
        "train.epochs=1", "train.device=cpu", "data.dataset=folder", f"data.root='{root}'",
        "data.n_train=0", "data.n_test=2", "data.image_size=16", "model.blocks=[]", "model.kind=mlp",
        "model.hidden=[4]"])
    rec = lab.Recorder()
    result = Trainer(exp, [rec]).fit()
    assert result.status == "done", result.message
    assert rec.info.skipped == 1 and rec.info.skipped_files == (os.path.join("a", "dangling.png") + " (a broken link)",)


# -- case 9: 16-bit and float images are scaled to 8 bits, not clipped or blackened -------------

def _png_rgb16(path: Path, rgb: np.ndarray) -> None:
    """Write an H×W×3 uint16 array as a 48-bit PNG (Pillow cannot write one)."""
    h, w, _ = rgb.shape
    raw = b"".join(b"\0" + row.astype(">u2").tobytes() for row in rgb)
    chunk = lambda kind, data: (struct.pack(">I", len(data)) + kind + data  # noqa: E731
                                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def test_a_16_bit_png_keeps_its_brightness(tmp_path):
    root = two_classes(tmp_path / "imgs")
    Image.fromarray(np.full((8, 8), 32896, np.uint16)).save(root / "a" / "grey16.png")  # 50 % grey
    ramp = np.tile(np.linspace(0, 65535, 8).astype(np.uint16), (8, 1))
    Image.fromarray(ramp).save(root / "a" / "ramp16.png")
    _png_rgb16(root / "b" / "colour16.png", np.stack([np.full((8, 8), v, np.uint16)
                                                     for v in (65535, 32896, 0)], axis=-1))
    assert Image.open(root / "a" / "grey16.png").mode == "I;16"
    s = load(root, tmp_path)
    assert s.skipped == 0
    grey, ramp_img = s.images[3].float(), s.images[4].float()  # a/: 0, 1, 2, grey16, ramp16
    assert abs(grey.mean().item() - 128) <= 1  # was 255 (clipped): mean 248 in the report
    assert ramp_img[0, 0, 0] == 0 and ramp_img[0, 0, -1] == 255
    colour = s.images[-1]  # b/: 0, 1, 2, colour16
    assert colour[:, 4, 4].tolist() == [255, 128, 0]


def test_a_float_tiff_is_not_black(tmp_path):
    root = two_classes(tmp_path / "imgs")
    Image.fromarray(np.full((8, 8), 0.5, np.float32)).save(root / "a" / "half.tif")  # 0..1 floats
    wide = np.tile(np.linspace(-1000, 3000, 8, dtype=np.float32), (8, 1))
    wide[0, 1] = np.nan
    Image.fromarray(wide).save(root / "a" / "wide.tiff")  # any range: stretched by its own min..max
    assert Image.open(root / "a" / "half.tif").mode == "F"
    s = load(root, tmp_path)
    assert s.skipped == 0
    half, stretched = s.images[3].float(), s.images[4]
    assert abs(half.mean().item() - 128) <= 1  # was 0: black
    assert stretched[0, 4, 0] == 0 and stretched[0, 4, -1] == 255 and 0 < stretched[0, 4, 4] < 255


# -- case 10, image parts -----------------------------------------------------------------------

def folder_data(root: Path) -> DataConfig:
    return DataConfig(dataset="folder", root=str(root), n_train=0, n_test=1, image_size=8)


def test_a_folder_with_one_class_is_refused(tmp_path):
    root = two_classes(tmp_path / "imgs", classes=("cat",))
    with pytest.raises(DataError, match=r"has one class \(cat/\): a classifier needs at least two class folders"):
        loader.load(folder_data(root), seed=0)


def test_a_folder_whose_images_are_all_in_one_class_is_refused(tmp_path):
    root = two_classes(tmp_path / "imgs", classes=("cat", "dog"))
    for f in (root / "dog").iterdir():
        f.write_bytes(b"not an image")
    for _ in range(2):  # decoded, then from the cache
        with pytest.raises(DataError, match=r"Only one class folder .* \(cat/\) has readable images"):
            loader.load(folder_data(root), seed=0)


def test_an_image_over_the_pixel_limit_is_skipped_by_name_without_a_warning(tmp_path, monkeypatch, recwarn):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # stands in for a 90-megapixel file
    root = two_classes(tmp_path / "imgs")  # 8×8 images: under the limit
    Image.new("RGB", (40, 40), "red").save(root / "a" / "big.png")  # Pillow warns (over the limit)
    Image.new("RGB", (50, 50), "red").save(root / "a" / "huge.png")  # Pillow refuses (over twice it)
    Image.new("RGB", (40, 40), "red").save(root / "b" / "big.jpg")  # JPEG: decoded at 1/4 scale, fits
    s = load(root, tmp_path)
    assert len(s.labels) == 7 and s.skipped == 2
    assert s.skipped_files == (os.path.join("a", "big.png") + " (too large (1,600 pixels))",
                               os.path.join("a", "huge.png") + " (too large (2,500 pixels))")
    assert not [w for w in recwarn if issubclass(w.category, Image.DecompressionBombWarning)]
    assert vision._megapixels(90_000_000) == "too large (90 megapixels)"


class _Hostile:
    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):  # unpickling would run code: create the marker file
        return (os.system, (f"touch {self.marker}",))


def test_a_hostile_legacy_mnist_file_gets_one_sentence(tmp_path, recwarn):
    processed = tmp_path / "MNIST" / "processed"  # where torchvision looks for its old format
    processed.mkdir(parents=True)
    marker = tmp_path / "pwned"
    for name in ("training.pt", "test.pt"):
        torch.save({"data": _Hostile(marker)}, processed / name)
    with pytest.raises(DataError) as e:
        load_torchvision("mnist", tmp_path, train=True)
    msg = str(e.value)
    assert not marker.exists()
    assert "\n" not in msg and "weights_only" not in msg
    assert str(processed / "training.pt") in msg and f"delete the folder {processed}" in msg
    assert not recwarn.list


def test_a_plain_legacy_mnist_file_still_loads(tmp_path):
    processed = tmp_path / "MNIST" / "processed"
    processed.mkdir(parents=True)
    for name, n in (("training.pt", 3), ("test.pt", 2)):
        torch.save((torch.full((n, 28, 28), 7, dtype=torch.uint8), torch.arange(n)), processed / name)
    s = load_torchvision("mnist", tmp_path, train=True)
    assert s.images.shape == (3, 1, 28, 28) and s.labels.tolist() == [0, 1, 2]
