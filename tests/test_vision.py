"""Tests for core.data.vision: image folders (decode, skip, cache) and torchvision sets from fake files."""
from __future__ import annotations

import os
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from core.data import vision
from core.data.vision import DataError, ImageSet, load_image_folder, load_torchvision
from core import DataError as CoreDataError


def _make_folder(root: Path) -> Path:
    """Three classes, six readable images of mixed sizes/modes, a corrupt .jpg and a .txt."""
    rng = np.random.default_rng(0)
    (root / "dogs").mkdir(parents=True)
    (root / "cats").mkdir()
    (root / "birds" / "nested").mkdir(parents=True)
    Image.fromarray(rng.integers(0, 255, (40, 60, 3), dtype=np.uint8)).save(root / "cats" / "a.jpg")
    Image.fromarray(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)).save(root / "cats" / "b.PNG")
    Image.fromarray(rng.integers(0, 255, (30, 20), dtype=np.uint8), "L").save(root / "dogs" / "grey.png")
    Image.fromarray(rng.integers(0, 255, (8, 8, 4), dtype=np.uint8), "RGBA").save(root / "dogs" / "alpha.png")
    Image.fromarray(np.full((12, 12, 3), 200, np.uint8)).save(root / "dogs" / "c.bmp")
    Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(root / "birds" / "nested" / "d.jpeg")
    (root / "dogs" / "broken.jpg").write_bytes(os.urandom(500))
    (root / "cats" / "notes.txt").write_text("not an image")
    (root / "cats" / ".hidden.jpg").write_bytes(b"ignored")  # hidden: neither loaded nor skipped
    (root / ".trash").mkdir()  # hidden folder: not a class
    return root


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return _make_folder(tmp_path / "imgs")


def test_data_error_is_the_engine_one():
    assert DataError is CoreDataError


def test_image_folder_shapes_labels_and_skips(folder: Path, tmp_path: Path):
    calls = []
    s = load_image_folder(folder, 24, progress=lambda d, t: calls.append((d, t)), cache_dir=tmp_path / "c")
    assert isinstance(s, ImageSet)
    assert s.classes == ("birds", "cats", "dogs")
    assert s.images.dtype == torch.uint8 and s.images.shape == (6, 3, 24, 24) and s.images.is_contiguous()
    assert s.labels.dtype == torch.int64 and s.labels.tolist() == [0, 1, 1, 2, 2, 2]
    assert s.skipped == 2
    assert calls[0] == (0, 7) and calls[-1] == (7, 7) and len(calls) <= 102  # total counts the corrupt .jpg
    # c.bmp is uniform 200 grey; RGB conversion and resizing keep it so (dogs: alpha, c, grey).
    assert (s.images[4] == 200).all()
    assert s.images.device.type == "cpu"


def test_progress_exception_cancels(folder: Path, tmp_path: Path):
    class Cancelled(Exception):
        pass

    def cancel(done, total):
        if done:
            raise Cancelled

    with pytest.raises(Cancelled):
        load_image_folder(folder, 8, progress=cancel, cache_dir=tmp_path / "c")
    assert not list((tmp_path / "c").glob("*.npz"))


def test_transparent_pixels_become_white(tmp_path: Path):
    root = tmp_path / "t"
    (root / "x").mkdir(parents=True)
    Image.new("RGBA", (5, 5), (10, 20, 30, 0)).save(root / "x" / "clear.png")
    s = load_image_folder(root, 5, cache_dir=tmp_path / "c")
    assert (s.images == 255).all()


def test_second_load_comes_from_cache(folder: Path, tmp_path: Path, monkeypatch):
    first = load_image_folder(folder, 16, cache_dir=tmp_path / "c")
    assert len(list((tmp_path / "c").glob("*.npz"))) == 1

    def boom(*a, **k):
        raise AssertionError("decoded although cached")

    monkeypatch.setattr(Image, "open", boom)
    calls = []
    second = load_image_folder(folder, 16, progress=lambda d, t: calls.append((d, t)), cache_dir=tmp_path / "c")
    assert torch.equal(first.images, second.images) and torch.equal(first.labels, second.labels)
    assert second.classes == first.classes and second.skipped == 2
    assert calls == [(6, 6)]


def test_cache_dir_from_environment(folder: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("LEARNSCOPE_CACHE", str(tmp_path / "envcache"))
    load_image_folder(folder, 8)
    assert len(list((tmp_path / "envcache").glob("*.npz"))) == 1


def test_cache_invalidated_when_a_file_is_added(folder: Path, tmp_path: Path):
    cache = tmp_path / "c"
    assert len(load_image_folder(folder, 8, cache_dir=cache).labels) == 6
    Image.new("RGB", (9, 9), "red").save(folder / "birds" / "new.png")
    s = load_image_folder(folder, 8, cache_dir=cache)
    assert len(s.labels) == 7 and s.labels.tolist().count(0) == 2
    assert len(list(cache.glob("*.npz"))) == 1  # the stale cache was replaced, not kept


def test_cache_invalidated_when_a_file_changes(folder: Path, tmp_path: Path):
    cache = tmp_path / "c"
    load_image_folder(folder, 8, cache_dir=cache)
    target = folder / "dogs" / "c.bmp"
    Image.fromarray(np.full((12, 12, 3), 7, np.uint8)).save(target)
    st = target.stat()
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    assert (load_image_folder(folder, 8, cache_dir=cache).images[4] == 7).all()


def test_other_size_is_a_separate_cache(folder: Path, tmp_path: Path):
    assert load_image_folder(folder, 8, cache_dir=tmp_path / "c").images.shape[-1] == 8
    assert load_image_folder(folder, 12, cache_dir=tmp_path / "c").images.shape[-1] == 12


@pytest.mark.parametrize("damage", [b"", b"garbage that is not a zip", None])
def test_corrupt_cache_is_ignored(folder: Path, tmp_path: Path, damage):
    cache = tmp_path / "c"
    good = load_image_folder(folder, 8, cache_dir=cache)
    (npz,) = cache.glob("*.npz")
    data = npz.read_bytes()
    npz.write_bytes(data[: len(data) // 2] if damage is None else damage)
    again = load_image_folder(folder, 8, cache_dir=cache)
    assert torch.equal(good.images, again.images) and again.skipped == 2
    assert load_image_folder(folder, 8, cache_dir=cache).images.shape == (6, 3, 8, 8)  # rewritten cache is good


def test_cache_never_uses_pickle(folder: Path, tmp_path: Path):
    load_image_folder(folder, 8, cache_dir=tmp_path / "c")
    (npz,) = (tmp_path / "c").glob("*.npz")
    with np.load(npz, allow_pickle=False) as z:
        assert all(z[k].dtype != object for k in z.files)
    assert not list((tmp_path / "c").glob("*.tmp"))


def test_unwritable_cache_still_loads(folder: Path, tmp_path: Path):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder should be")
    assert load_image_folder(folder, 8, cache_dir=blocker).images.shape == (6, 3, 8, 8)


def test_missing_folder(tmp_path: Path):
    with pytest.raises(DataError, match="does not exist") as e:
        load_image_folder(tmp_path / "nope", 8, cache_dir=tmp_path / "c")
    assert str(tmp_path / "nope") in str(e.value)


def test_empty_folder(tmp_path: Path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="is empty") as e:
        load_image_folder(tmp_path / "empty", 8, cache_dir=tmp_path / "c")
    assert str(tmp_path / "empty") in str(e.value)


def test_folder_without_class_folders(tmp_path: Path):
    (tmp_path / "flat").mkdir()
    Image.new("RGB", (4, 4)).save(tmp_path / "flat" / "a.png")
    with pytest.raises(DataError, match="no class sub-folders"):
        load_image_folder(tmp_path / "flat", 8, cache_dir=tmp_path / "c")


def test_folder_without_readable_images(tmp_path: Path):
    (tmp_path / "bad" / "x").mkdir(parents=True)
    (tmp_path / "bad" / "x" / "a.jpg").write_bytes(b"nope")
    (tmp_path / "bad" / "x" / "b.txt").write_text("nope")
    with pytest.raises(DataError, match="no readable image") as e:
        load_image_folder(tmp_path / "bad", 8, cache_dir=tmp_path / "c")
    assert str(tmp_path / "bad") in str(e.value) and "2 files skipped" in str(e.value)


def test_file_instead_of_folder(tmp_path: Path):
    (tmp_path / "f.png").write_bytes(b"x")
    with pytest.raises(DataError, match="not a folder"):
        load_image_folder(tmp_path / "f.png", 8, cache_dir=tmp_path / "c")


def test_bad_size(folder: Path, tmp_path: Path):
    with pytest.raises(DataError, match="positive"):
        load_image_folder(folder, 0, cache_dir=tmp_path / "c")


# --- torchvision sets --------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["mnist", "fashion-mnist", "cifar10"])
def test_torchvision_missing_files(tmp_path: Path, name: str):
    with pytest.raises(DataError) as e:
        load_torchvision(name, tmp_path, train=True, download=False)
    msg = str(e.value)
    assert str(tmp_path.resolve()) in msg and "download" in msg.lower()


def test_torchvision_unknown_name(tmp_path: Path):
    with pytest.raises(DataError, match="mnist"):
        load_torchvision("imagenet", tmp_path, train=True)


def _idx(path: Path, arr: np.ndarray) -> None:
    """Write ``arr`` (uint8) in the big-endian IDX format MNIST ships in."""
    header = struct.pack(">I", 0x0800 | arr.ndim) + b"".join(struct.pack(">I", d) for d in arr.shape)
    path.write_bytes(header + arr.astype(np.uint8).tobytes())


@pytest.mark.parametrize("name,folder", [("mnist", "MNIST"), ("fashion-mnist", "FashionMNIST")])
def test_torchvision_mnist_from_fake_files(tmp_path: Path, name: str, folder: str):
    raw = tmp_path / folder / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(1)
    imgs = rng.integers(0, 256, (20, 28, 28), dtype=np.uint8)
    labels = np.arange(20, dtype=np.uint8) % 10
    _idx(raw / "t10k-images-idx3-ubyte", imgs)
    _idx(raw / "t10k-labels-idx1-ubyte", labels)
    _idx(raw / "train-images-idx3-ubyte", imgs[:5])
    _idx(raw / "train-labels-idx1-ubyte", labels[:5])
    s = load_torchvision(name, tmp_path, train=False)
    assert s.images.dtype == torch.uint8 and s.images.shape == (20, 1, 28, 28)
    assert torch.equal(s.images[:, 0], torch.from_numpy(imgs))
    assert s.labels.dtype == torch.int64 and s.labels.tolist() == labels.tolist()
    assert len(s.classes) == 10 and s.skipped == 0
    assert load_torchvision(name, tmp_path, train=True).images.shape == (5, 1, 28, 28)


def test_torchvision_cifar10_from_fake_files(tmp_path: Path, monkeypatch):
    import torchvision.datasets.cifar as cifar

    # Real batches are checked against MD5 sums; ours are tiny fakes, so only require the files.
    monkeypatch.setattr(cifar, "check_integrity", lambda path, md5=None: os.path.isfile(path))
    base = tmp_path / "cifar-10-batches-py"
    base.mkdir()
    rng = np.random.default_rng(2)
    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    batches = {}
    for f in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batches[f] = {"data": rng.integers(0, 256, (4, 3072), dtype=np.uint8), "labels": list(rng.integers(0, 10, 4))}
        (base / f).write_bytes(pickle.dumps(batches[f]))
    (base / "batches.meta").write_bytes(pickle.dumps({"label_names": names}))
    s = load_torchvision("cifar10", tmp_path, train=False)
    assert s.images.shape == (4, 3, 32, 32) and s.images.dtype == torch.uint8 and s.images.is_contiguous()
    assert torch.equal(s.images.reshape(4, -1), torch.from_numpy(batches["test_batch"]["data"]))
    assert s.labels.dtype == torch.int64 and s.labels.tolist() == [int(x) for x in batches["test_batch"]["labels"]]
    assert s.classes == tuple(names)
    assert load_torchvision("cifar10", tmp_path, train=True).images.shape == (20, 3, 32, 32)


def test_import_is_light():
    # torchvision is imported lazily (inside load_torchvision) and core never imports Qt or app.
    import ast

    tree = ast.parse(Path(vision.__file__).read_text())
    top = {a.name.split(".")[0] for n in tree.body if isinstance(n, ast.Import) for a in n.names}
    top |= {(n.module or "").split(".")[0] for n in tree.body if isinstance(n, ast.ImportFrom)}
    every = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    every |= {(n.module or "").split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert "torchvision" not in top
    assert not every & {"PySide6", "app"}
