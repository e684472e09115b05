"""The plain PyTorch script (core.export.script): it runs where LearnScope cannot be imported,
imports only torch, torchvision, numpy and the standard library, and trains the experiment as
LearnScope does (the same data, network, batches and numbers for the same seed)."""

import ast
import re
import runpy
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from core.experiment import config as cfg
from core.nets import models
from core.experiment import optimizers
from core.export import script as export_script
from core.data import loader, registry, toy2d
from core import ExportError
from core.engine.train import Trainer
from core.store.writers import recorded
from tests import lab

LINE = re.compile(r"^epoch (\d+)/(\d+)  train ([\d.]+) / ([\d.]+)%(?:  val ([\d.]+) / ([\d.]+)%)?"
                  r"(?:  test ([\d.]+) / ([\d.]+)%)?  [\d,]+ img/s$")

# Runs a script with LearnScope's packages unimportable: the venv's editable install would
# otherwise find them from any folder, even under `python -I`.
LAUNCHER = textwrap.dedent('''
    import runpy, sys

    class NoLearnScope:
        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] in ("core", "app", "tests", "resources"):
                raise ModuleNotFoundError(f"No module named {name!r} (LearnScope is blocked)")
            return None

    sys.meta_path.insert(0, NoLearnScope())
    try:
        import core
    except ModuleNotFoundError:
        print("LearnScope cannot be imported here", flush=True)
    else:
        raise SystemExit("the blocker failed: core is importable")
    script = sys.argv[1]
    sys.argv = [script]
    runpy.run_path(script, run_name="__main__")
    loaded = sorted(m for m in sys.modules if m.partition(".")[0] in ("core", "app"))
    print("LearnScope modules loaded:", loaded or "none")
''')


def run_isolated(script, folder):
    """Run the script with `python -I` from folder through the blocking launcher; its stdout."""
    (folder / "launcher.py").write_text(LAUNCHER, encoding="utf-8")
    r = subprocess.run([sys.executable, "-I", "launcher.py", script.name], cwd=folder,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-4000:]
    assert r.stdout.startswith("LearnScope cannot be imported here")
    assert r.stdout.rstrip().endswith("LearnScope modules loaded: none")
    return r.stdout


def epoch_lines(out):
    return [LINE.match(line) for line in out.splitlines() if line.startswith("epoch ")]


def learnscope_line(record, epochs):
    """The CLI's progress line of an epoch record, without its images/s."""
    parts = [f"epoch {record.epoch}/{epochs}"]
    for split in ("train", "val", "test"):
        m = record.split(split)
        if m is not None:
            parts.append(f"{split} {m.loss:.4f} / {m.accuracy:.2f}%")
    return "  ".join(parts)


def fit(exp):
    rec = lab.Recorder()
    result = Trainer(exp, [rec]).fit()
    assert result.status == "done", result.message
    return rec.epochs


def load_script(path):
    """The script's functions and settings, without running its main()."""
    return runpy.run_path(str(path), run_name="exported")


def assert_same_run(printed, records, epochs):
    """Every epoch line of the script against LearnScope's: accuracies equal, losses within
    the last printed digit (LearnScope sums batch losses in float32, the script in floats)."""
    assert len(printed) == len(records) == epochs
    for line, rec in zip(printed, records):
        mine, theirs = line.split("  ")[:-1], learnscope_line(rec, epochs).split("  ")
        assert len(mine) == len(theirs), (line, theirs)
        for a, b in zip(mine, theirs):
            la, lb = a.replace("%", "").split(), b.replace("%", "").split()
            assert la[0] == lb[0] and la[-1] == lb[-1], (line, theirs)  # name and accuracy
            if la[0] != "epoch":
                assert abs(float(la[1]) - float(lb[1])) <= 2e-4, (line, theirs)


def imported_modules(path):
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name.partition(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "a relative import"
            names.add(node.module.partition(".")[0])
        elif isinstance(node, ast.Call) and getattr(node.func, "id", "") == "__import__":
            raise AssertionError("the script imports by __import__")
    return names


def assert_plain_imports(path):
    allowed = {"torch", "torchvision", "numpy"} | set(sys.stdlib_module_names)
    assert imported_modules(path) <= allowed, imported_modules(path) - allowed


# ---------------------------------------------------------------- the acceptance runs
def test_circles_mlp_script_reaches_learnscopes_accuracy_without_learnscope(tmp_path):
    exp = lab.circles(60)  # the preset (150 epochs: the same to the last digit), on the CPU
    script = tmp_path / "circles.py"
    assert export_script.export(exp, script) == [script]
    assert_plain_imports(script)
    out = run_isolated(script, tmp_path)
    records = fit(exp)
    last = epoch_lines(out)[-1]
    assert last and int(last[1]) == 60
    assert abs(float(last[8]) - records[-1].test.accuracy) <= 2.0  # the acceptance
    assert_same_run([m[0] for m in epoch_lines(out)], records, 60)  # in fact: the same run


def test_short_shapes_cnn_script_reaches_learnscopes_accuracy_without_learnscope(tmp_path):
    exp = lab.experiment("shapes-cnn", 2, **{"data.n_train": 120, "data.n_test": 60,
                                             "data.val_fraction": 0.25, "data.crop": 28,
                                             "data.flip": "true", "train.batch_size": 40})
    script = tmp_path / "shapes.py"
    written = export_script.export(exp, script)
    assert written == [script, tmp_path / "shapes-shapes10.npz"]
    assert_plain_imports(script)
    out = run_isolated(script, tmp_path)
    records = fit(exp)
    last = epoch_lines(out)[-1]
    assert abs(float(last[8]) - records[-1].test.accuracy) <= 2.0
    assert_same_run([m[0] for m in epoch_lines(out)], records, 2)


# ---------------------------------------------------------------- the parts, in process
@pytest.mark.parametrize("name", toy2d.NAMES)
def test_the_2d_sets_are_generated_as_learnscope_generates_them(tmp_path, name):
    exp = lab.circles(1, **{"data.dataset": f'"{name}"', "data.n_train": 31, "data.noise": 0.7})
    script = tmp_path / "points.py"
    export_script.export(exp, script)
    assert_plain_imports(script)
    g = load_script(script)
    (x, y), (xt, yt), _ = g["load_data"]()
    data = loader.load(exp.data, exp.train.seed)
    assert torch.equal(x, data.train.x) and torch.equal(y, data.train.y)
    assert torch.equal(xt, data.test.x) and torch.equal(yt, data.test.y)


@pytest.mark.parametrize("sets", [
    {},
    {"model.hidden": "[7, 5]", "model.activation": '"sigmoid"', "model.batch_norm": "true",
     "model.dropout": 0.3, "model.init_std": 0.0},
])
def test_the_mlp_is_built_layer_for_layer_with_the_same_initial_weights(tmp_path, sets):
    exp = lab.circles(1, **sets)
    check_network(exp, tmp_path)


def test_the_cnn_is_built_layer_for_layer_with_the_same_initial_weights(tmp_path):
    exp = lab.tiny_shapes()
    exp.model.blocks[1].pool = "avg"
    exp.model.blocks[1].ceil_mode = True
    exp.model.batch_norm, exp.model.dropout, exp.model.dropout_place = True, 0.5, "all"
    check_network(cfg.validate(exp), tmp_path)


def check_network(exp, tmp_path):
    script = tmp_path / "net.py"
    export_script.export(exp, script)
    g = load_script(script)
    shape = registry.input_shape(exp.data)[0]
    torch.manual_seed(5)
    theirs = models.build(exp.model, shape, 10)
    torch.manual_seed(5)
    mine = g["build_network"](10)
    settings = lambda net: [(name, type(m), {k: v for k, v in vars(m).items()  # noqa: E731
                                             if not k.startswith("_") and k != "training"})
                            for name, m in net.named_children()]
    assert settings(mine) == settings(theirs)  # kernel, stride, padding, ceil_mode, p, …
    a, b = mine.state_dict(), theirs.state_dict()
    assert list(a) == list(b) and all(torch.equal(a[k], b[k]) for k in a)


def test_shapes_npz_standardisation_zca_crop_and_flip_give_learnscopes_batches(tmp_path):
    exp = lab.tiny_shapes()
    exp.data.image_size, exp.data.crop, exp.data.crop_padding = 16, 12, 2
    exp.data.standardize, exp.data.flip, exp.data.val_fraction = "zca", True, 0.25
    exp = cfg.validate(exp)
    script = tmp_path / "zca.py"
    export_script.export(exp, script)
    g = load_script(script)
    pool, test, classes = g["load_data"]()
    train, val = g["split_off_validation"](*pool)
    data = loader.load(exp.data, exp.train.seed)
    for (x, y), split in ((train, data.train), (val, data.val), (test, data.test)):
        assert x.dtype == torch.uint8 and torch.equal(x, split.x) and torch.equal(y, split.y)
    inputs = g["Inputs"](train[0])
    for is_train, size in ((True, 20), (False, 7)):
        gen_a, gen_b = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
        mine = list(g["batches"](*train, size, inputs, is_train, gen_a))
        theirs = list(data.batches(data.train, size, is_train, gen_b))
        assert len(mine) == len(theirs) and mine[0][0].shape[-1] == 12
        for (xa, ya), (xb, yb) in zip(mine, theirs):
            assert torch.equal(ya, yb) and torch.allclose(xa, xb, atol=1e-5, rtol=0)


@pytest.mark.parametrize("preset, sets", [
    ("circles", {"optim.loss": '"mse"', "optim.optimizer": '"adam"', "optim.lr": 0.01,
                 "optim.scheduler": '"exponential"', "data.val_fraction": 0.2,
                 "train.batch_size": 16}),
    ("shapes", {"model.batch_norm": "true", "model.dropout": 0.5, "optim.momentum": 0.9,
                "optim.nesterov": "true", "optim.weight_decay": 1e-3, "optim.scheduler": '"step"',
                "optim.step_size": 1, "data.n_train": 65, "data.standardize": '"channel"'}),
    ("circles", {"train.dtype": '"float64"', "optim.scheduler": '"cosine"',
                 "optim.reduction": '"mean"', "optim.lr": 0.3}),
    ("shapes", {"optim.label_smoothing": 0.1, "optim.momentum": 0.9, "optim.nesterov": "true",
                "optim.scheduler": '"warmup-cosine"', "optim.warmup": 1, "data.flip_test": "true",
                "data.flip": "true", "data.crop": 28, "data.crop_padding": 2, "optim.lr": 0.2}),
])
def test_each_loss_optimiser_schedule_and_layer_trains_as_in_learnscope(tmp_path, capsys,
                                                                          preset, sets):
    base = lab.circles(3) if preset == "circles" else lab.tiny_shapes(3)
    exp = cfg.with_overrides(base, [f"{k}={v}" for k, v in sets.items()])
    script = tmp_path / "run.py"
    export_script.export(exp, script)
    g = load_script(script)
    capsys.readouterr()
    g["main"]()
    printed = [line for line in capsys.readouterr().out.splitlines() if line.startswith("epoch")]
    assert_same_run(printed, fit(exp), 3)


# ---------------------------------------------------------------- the other data sets
def write_fake_mnist(root, n_train=30, n_test=20):
    """A tiny MNIST in torchvision's raw idx format (torchvision only checks that it exists)."""
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = (np.arange(n) % 10).astype(np.uint8)
        (raw / f"{prefix}-images-idx3-ubyte").write_bytes(
            np.array([2051, n, 28, 28], ">i4").tobytes() + images.tobytes())
        (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(
            np.array([2049, n], ">i4").tobytes() + labels.tobytes())


def test_a_torchvision_set_is_read_with_torchvision_and_picked_as_learnscope_picks(tmp_path):
    write_fake_mnist(tmp_path / "data")
    exp = cfg.with_overrides(lab.experiment("mnist-mlp", 1), [
        f'data.root="{tmp_path / "data"}"', "data.n_train=12", "data.n_test=9"])
    script = tmp_path / "mnist.py"
    export_script.export(exp, script)
    assert_plain_imports(script)
    assert "torchvision.datasets.MNIST" in script.read_text()
    (x, y), (xt, yt), classes = load_script(script)["load_data"]()
    data = loader.load(exp.data, exp.train.seed)
    assert torch.equal(x, data.train.x) and torch.equal(y, data.train.y)
    assert torch.equal(xt, data.test.x) and torch.equal(yt, data.test.y)
    assert classes == data.classes


@pytest.mark.parametrize("separate_test", [False, True])
def test_an_image_folder_is_read_with_torchvision_as_learnscope_reads_it(tmp_path, separate_test):
    from PIL import Image
    rng = np.random.default_rng(1)
    for root in ("train", "test"):
        for cls in ("cat", "dog", "owl"):
            (tmp_path / root / cls).mkdir(parents=True)
            for i in range(5):
                pixels = rng.integers(0, 256, (11, 9, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(tmp_path / root / cls / f"{i}.png")
    sets = [f'data.root="{tmp_path / "train"}"', "data.n_test=4"]
    if separate_test:
        sets.append(f'data.test_root="{tmp_path / "test"}"')
    exp = cfg.with_overrides(lab.tiny_shapes(), ['data.dataset="folder"', "data.image_size=8",
                                                 "data.crop=0"] + sets)
    script = tmp_path / "folder.py"
    export_script.export(exp, script)
    assert_plain_imports(script)
    (x, y), (xt, yt), classes = load_script(script)["load_data"]()
    data = loader.load(exp.data, exp.train.seed)
    assert classes == data.classes == ("cat", "dog", "owl")
    assert torch.equal(x, data.train.x) and torch.equal(y, data.train.y)
    assert torch.equal(xt, data.test.x) and torch.equal(yt, data.test.y)


# ---------------------------------------------------------------- sources, words and refusals
def test_a_run_folder_and_a_toml_file_export_the_same_training(tmp_path):
    exp = lab.circles(1)
    result = recorded(Trainer(exp), tmp_path / "runs").fit()
    from_run = tmp_path / "a.py"
    export_script.export(result.run_folder, from_run)
    toml = tmp_path / "exp.toml"
    cfg.save(exp, toml)
    from_file = tmp_path / "b.py"
    export_script.export(toml, from_file)
    body = lambda p: p.read_text().split('"""', 2)[2].replace("a.py", "b.py")  # noqa: E731
    assert body(from_run) == body(from_file)
    words = lambda p: " ".join(p.read_text().split())  # noqa: E731
    assert f"from the run {result.run_folder.rsplit('/', 1)[1]}." in words(from_run)
    assert "from the experiment file exp.toml." in words(from_file)


def test_settings_name_their_field_and_the_practicals_question(tmp_path):
    exp = cfg.with_overrides(lab.tiny_shapes(), ['optim.scheduler="exponential"'])
    script = tmp_path / "s.py"
    export_script.export(exp, script)
    text = script.read_text()
    assert re.search(r"^BATCH_SIZE = 32 .*train\.batch_size.*question 16", text, re.M)
    assert re.search(r"^GAMMA = 0\.95 .*optim\.gamma.*question 26", text, re.M)
    assert re.search(r"^MOMENTUM = 0\.9 .*question 26", text, re.M)
    assert "question 14" in text  # epoch(): the test pass without the optimizer
    assert "ExponentialLR(optimizer, GAMMA)" in text


def test_what_the_script_cannot_write_is_refused_with_a_sentence(tmp_path):
    with pytest.raises(ExportError, match="does not exist"):
        export_script.export(tmp_path / "nothing.toml", tmp_path / "s.py")
    (tmp_path / "study").mkdir()
    (tmp_path / "study" / "study.json").write_text("{}")
    with pytest.raises(ExportError, match="study folder: export one of its rung"):
        export_script.export(tmp_path / "study", tmp_path / "s.py")
    bad = tmp_path / "bad.toml"
    bad.write_text("[optim]\nlr = -1\n")
    with pytest.raises(ExportError, match="optim.lr"):
        export_script.export(bad, tmp_path / "s.py")
    optimizers.register_optimizer(optimizers.Optimizer("toy", "Toy", lambda p, oc: None))
    try:
        with pytest.raises(ExportError, match=r"optim.optimizer = .toy. \(its entry has no script line\); choose one of sgd, adam"):
            export_script.export(lab.circles(1, **{"optim.optimizer": '"toy"'}), tmp_path / "s.py")
    finally:
        optimizers.unregister_optimizer("toy")
    registry.register(registry.DataSet("ring", "Ring (a test)", "points", toy2d.load))
    try:
        with pytest.raises(ExportError, match="built-in data sets, not 'Ring"):
            export_script.export(lab.circles(1, **{"data.dataset": '"ring"'}), tmp_path / "s.py")
    finally:
        registry.unregister("ring")
    assert not (tmp_path / "s.py").exists()


def test_a_folder_that_cannot_be_written_is_named(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ExportError, match=f"into {re.escape(str(blocker))}.*folder you can write"):
        export_script.export(lab.circles(1), blocker / "s.py")
