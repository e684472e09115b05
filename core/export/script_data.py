"""The data part of the plain PyTorch script (core.export.script): load_data() for each kind
of data set, and the validation cut.

Each load_data() returns the training pool (before the validation cut), the test split and
the class names, drawn exactly as LearnScope's loader draws them (core.data.registry's
contract): the 2D sets generated inline by LearnScope's own generator functions (their source
is copied into the script), Shapes-10 read from the .npz written beside the script,
torchvision sets and image folders read with torchvision and picked with the same seeded
generator.
"""

from __future__ import annotations

import inspect
import io
import re
from pathlib import Path

import numpy as np

from core.files.atomic import atomic_write_bytes
from core.data import registry, toy2d
from core import ExportError

TORCHVISION = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST", "cifar10": "CIFAR10"}
#: the loaders whose drawing the script repeats (a set registered at run time has its own)
BUILTIN_LOADERS = {"core.data.toy2d:load", "core.data.shapes:load", "core.data.vision:load_mnist",
                   "core.data.vision:load_fashion_mnist", "core.data.vision:load_cifar10",
                   "core.data.vision:load_folder"}


def _public(source: str) -> str:
    """LearnScope's private generator names without their underscore: `_circles` → `circles`."""
    return re.sub(r"\b_(angles|circles|moons|xor|spiral|blobs)\b", r"\1", source)


def points_code(dataset: str) -> str:
    """Return the generator of a 2D set, make_points() and load_data(), as toy2d draws them."""
    maker = toy2d._MAKERS[dataset]
    uses_angles = "_angles(" in inspect.getsource(maker)
    helpers = inspect.getsource(toy2d._angles) + "\n\n" if uses_angles else ""
    name = maker.__name__.lstrip("_")
    return _public(helpers + inspect.getsource(maker)) + f'''

def make_points(n, seed):
    """Return (points float32 n×2, labels int64 n): balanced, in a seeded random order."""
    g = torch.Generator().manual_seed(seed)
    counts = (n - n // 2, n // 2)
    parts = {name}(g, counts, NOISE)
    x = torch.cat(parts).float()
    y = torch.cat([torch.full((k,), c, dtype=torch.int64) for c, k in enumerate(counts)])
    order = torch.randperm(n, generator=g)
    return x[order], y[order]


def load_data():
    """Return the training pool, the test split and the class names."""
    # two seeds, so that changing N (Part 1, question 2) keeps the same test points
    x, y = make_points(N_TRAIN, 2 * SEED)
    xt, yt = make_points(N_TEST, 2 * SEED + 1)
    return (x, y), (xt, yt), ("class 0", "class 1")
'''


SHAPES = '''def load_data():
    """Return the training pool, the test split and the class names: the Shapes-10 images
    LearnScope drew from the seed, stored beside this script."""
    with np.load(Path(__file__).with_name(SHAPES_FILE), allow_pickle=False) as z:
        pool = torch.from_numpy(z["train_images"]), torch.from_numpy(z["train_labels"])
        test = torch.from_numpy(z["test_images"]), torch.from_numpy(z["test_labels"])
        return pool, test, tuple(str(c) for c in z["classes"])
'''

TAKE = '''def take(x, y, n, g):
    """Return n examples in a seeded random order (all of them, shuffled, when n is 0)."""
    idx = torch.randperm(len(y), generator=g)
    if n:
        idx = idx[:n]
    return x[idx], y[idx]
'''

VISION = TAKE + '''

def as_tensors(ds):
    """Return a torchvision set's images as uint8 N×C×H×W and its labels as int64."""
    data = torch.as_tensor(np.asarray(ds.data))
    # MNIST keeps N×H×W grey images, CIFAR-10 N×H×W×C; both become N×C×H×W
    images = data.unsqueeze(1) if data.ndim == 3 else data.permute(0, 3, 1, 2)
    return images.contiguous(), torch.as_tensor(np.asarray(ds.targets), dtype=torch.int64)


def load_data():
    """Return the training pool, the test split and the class names."""
    root = str(Path(ROOT).expanduser().resolve())
    train = torchvision.datasets.$CLASS(root, train=True, download=DOWNLOAD)
    test = torchvision.datasets.$CLASS(root, train=False, download=DOWNLOAD)
    g = torch.Generator().manual_seed(SEED)  # LearnScope picks the N examples with it
    x, y = take(*as_tensors(train), N_TRAIN, g)
    xt, yt = take(*as_tensors(test), N_TEST, g)
    return (x, y), (xt, yt), tuple(str(c) for c in train.classes)
'''

FOLDER = TAKE + '''

EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


def read_folder(root):
    """Return every image under root/<class>/ as uint8 N×3×S×S (S = IMAGE_SIZE, resized with
    bilinear filtering, the aspect ratio ignored), the labels and the class names.

    As LearnScope reads it, except that an unreadable file stops the script (LearnScope
    skips it), a transparent pixel turns black (LearnScope: white) and a large JPEG is
    decoded at full size before the resize (LearnScope: at a reduced scale)."""
    ds = torchvision.datasets.ImageFolder(
        str(Path(root).expanduser().resolve()),
        transform=transforms.Compose([transforms.Resize((IMAGE_SIZE, IMAGE_SIZE)),
                                      transforms.PILToTensor()]),
        is_valid_file=lambda p: Path(p).suffix.lower() in EXTENSIONS
        and not Path(p).name.startswith("."))
    images = torch.stack([image for image, _ in ds])
    return images, torch.tensor(ds.targets, dtype=torch.int64), tuple(ds.classes)


def load_data():
    """Return the training pool, the test split and the class names."""
    x, y, classes = read_folder(ROOT)
    g = torch.Generator().manual_seed(SEED)  # LearnScope holds out and picks with it
    if TEST_ROOT:
        xt, yt, _ = read_folder(TEST_ROOT)
        xt, yt = take(xt, yt, N_TEST, g)
    else:  # the test split is held out of the one folder before N is applied
        order = torch.randperm(len(y), generator=g)
        k = N_TEST or max(1, len(y) // 10)
        xt, yt = x[order[:k]], y[order[:k]]
        x, y = x[order[k:]], y[order[k:]]
    x, y = take(x, y, N_TRAIN, g)
    return (x, y), (xt, yt), classes
'''

VALIDATION = '''def split_off_validation(x, y):
    """Return (train, val): the last VAL_FRACTION of the training pool is held out for
    validation (Part 1, question 1: what the validation set is for)."""
    cut = len(y) - int(round(VAL_FRACTION * len(y)))
    return (x[:cut], y[:cut]), (x[cut:], y[cut:])
'''


def load_code(exp) -> str:
    """Return the script's load_data() (with its helpers) and split_off_validation()."""
    name = exp.data.dataset
    ds = registry.get(name)
    body = None
    if ds.load in BUILTIN_LOADERS:  # a set registered at run time draws its own way
        body = (points_code(name) if name in toy2d._MAKERS else SHAPES if name == "shapes10"
                else VISION.replace("$CLASS", TORCHVISION[name]) if name in TORCHVISION
                else FOLDER if name == "folder" else None)
    if body is None:
        raise ExportError(f"The script export knows LearnScope's built-in data sets, not "
                          f"{ds.label!r}; export an experiment on one of them.")
    return body + "\n\n" + VALIDATION


def shapes_file(script: Path) -> Path:
    return script.with_name(f"{script.stem}-shapes10.npz")


def write_shapes(exp, path: Path) -> Path:
    """Write the Shapes-10 images LearnScope trains and tests this experiment on (the
    training pool before the validation cut, and the test split) as a plain .npz."""
    from core.data.registry import LoadContext
    import torch
    dc, seed = exp.data, exp.train.seed
    g = torch.Generator().manual_seed(seed)  # as core.data.loader.load seeds the loader
    got = registry.get(dc.dataset).loader()(dc, seed, LoadContext.of(dc, g))
    buf = io.BytesIO()
    np.savez_compressed(buf, train_images=got.x.numpy(), train_labels=got.y.numpy(),
                        test_images=got.xt.numpy(), test_labels=got.yt.numpy(),
                        classes=np.array(got.classes, dtype=str))
    atomic_write_bytes(path, buf.getvalue())
    return path
