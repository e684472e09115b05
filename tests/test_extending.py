"""docs/extending.md's worked examples, run as written: a data set, an Inspect view and an
optimiser are added from the page's own code, then trained, drawn and exported; the config
switch's blocks are the code they quote, and the page's claims about it hold."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest
from conftest_qt import *  # noqa: F401,F403

from core import ConfigError
from core.experiment import config as cfg

DOC = Path(__file__).resolve().parents[1] / "docs" / "extending.md"
BLOCK = re.compile(r"<!-- (file: (?P<path>\S+)|run) -->\n```python\n(?P<code>.*?)```", re.S)
QUOTED = re.compile(r"<!-- quoted: (?P<paths>[^>]+?) -->\n```python\n(?P<code>.*?)```", re.S)


def _blocks() -> list[tuple[str | None, str]]:
    return [(m["path"], m["code"]) for m in BLOCK.finditer(DOC.read_text(encoding="utf-8"))]


@pytest.fixture
def documented(monkeypatch):
    """Install the page's modules (as if their files existed) and run its registry lines."""
    from app.views import registry as views
    from core.data import registry as datasets
    from core.experiment import optimizers
    blocks = _blocks()
    assert [p for p, _ in blocks] == ["core/data/stripes.py", None, "app/views/weights.py", None,
                                      None]
    for path, code in blocks:
        if path:
            name = path.removesuffix(".py").replace("/", ".")
            module = types.ModuleType(name)
            module.__file__ = str(DOC)
            monkeypatch.setitem(sys.modules, name, module)
            exec(compile(code, f"{DOC}:{path}", "exec"), module.__dict__)
        else:  # a line of a registry module, run in that module's names
            target = (datasets if "DataSet(" in code else
                      optimizers if "register_optimizer(" in code else views)
            exec(compile(code, f"{DOC}:registry", "exec"), dict(vars(target)))
    yield
    datasets.unregister("stripes")
    views.unregister_view("weights")
    optimizers.unregister_optimizer("rmsprop")


def test_the_documented_data_set_and_view_train_and_draw(documented, qtbot, window):
    from core.data import registry
    assert "stripes" in registry.names() and registry.get("stripes").label == "Stripes (8×8)"
    exp = cfg.from_dict({"name": "stripes",
                         "data": {"dataset": "stripes", "n_train": 200, "n_test": 100,
                                  "standardize": "channel"},
                         "model": {"kind": "cnn", "fc": [16],
                                   "blocks": [{"channels": 4, "kernel": 3, "padding": 1}]},
                         "optim": {"lr": 0.05, "momentum": 0.9},
                         "train": {"epochs": 3, "batch_size": 20, "device": "cpu"}})
    w = window(exp)
    labels = [w.data_panel.dataset.itemText(i) for i in range(w.data_panel.dataset.count())]
    assert "Stripes (8×8)" in labels  # the Data panel reads the registry
    assert w.inspect.chooser.itemText(w.inspect.chooser.count() - 1) == "Weights"
    w.inspect.select("weights")
    view = w.inspect.current()
    assert type(view).__name__ == "WeightsView"
    with qtbot.waitSignal(w.run_finished, timeout=60_000) as finished:
        assert w.start_training()
    result = finished.args[0]
    assert result.status == "done", result.message
    assert result.last.test.accuracy > 50  # four classes: chance is 25 %
    w.inspect.tick(force=True)
    qtbot.waitUntil(lambda: view.text.text().startswith(f"{w.fit_info.params} weights"), timeout=10_000)


def test_the_documented_optimiser_trains_shows_in_the_window_and_exports_a_script_that_runs(
        documented, qtbot, window, tmp_path):
    from core.export import script as export_script
    from test_export_script import epoch_lines, run_isolated
    exp = cfg.with_overrides(cfg.from_dict({"name": "rms"}), [
        "data.dataset=circles", "data.n_train=200", "data.n_test=100", "optim.optimizer=rmsprop",
        "optim.lr=0.01", "optim.momentum=0.5", "train.epochs=3", "train.device=cpu"])
    w = window(exp)
    choice = w.optim_panel.optimizer
    labels = [choice.itemText(i) for i in range(choice.count())]
    assert "RMSprop" in labels and choice.currentData() == "rmsprop"  # the panel reads the registry
    with qtbot.waitSignal(w.run_finished, timeout=60_000) as finished:
        assert w.start_training()
    result = finished.args[0]
    assert result.status == "done", result.message
    script = tmp_path / "train_rms.py"
    export_script.export(result.run_folder, script)
    text = script.read_text()
    assert "torch.optim.RMSprop(model.parameters(), lr=LR, momentum=MOMENTUM," in text
    assert re.search(r"^MOMENTUM = 0\.5 ", text, re.M) and "NESTEROV" not in text
    lines = epoch_lines(run_isolated(script, tmp_path))  # plain PyTorch, LearnScope unimportable
    assert len(lines) == 3 and all(lines)


def _quoted() -> list[tuple[list[str], str]]:
    return [(m["paths"].split(), m["code"]) for m in QUOTED.finditer(DOC.read_text("utf-8"))]


def test_the_config_switch_example_is_the_code_and_does_what_the_page_says(tmp_path):
    """The page's label-smoothing blocks quote the code line for line (a `# file, where`
    comment names where the lines after it are), and its sentences hold."""
    root = DOC.parents[1]
    quoted = _quoted()
    assert [paths for paths, _ in quoted] == [["core/experiment/config.py"],
                                              ["core/engine/losses.py", "core/engine/train.py"]]
    for paths, code in quoted:
        source = "\n".join((root / p).read_text("utf-8") for p in paths)
        lines = [line.strip() for line in code.splitlines()]
        for line in lines:
            if line and line != "..." and not line.startswith("#"):
                assert line in source, f"{paths}: {line!r} is not in the code"
    from core.cli.main import main
    from core.engine import losses
    import torch
    exp = cfg.from_dict({})
    assert exp.optim.label_smoothing == 0.0  # a config saved before the field loads with it
    with pytest.raises(ConfigError, match=r"optim.label_smoothing: must be <= 0.5, got 0.9"):
        cfg.with_overrides(exp, ["optim.label_smoothing=0.9"])
    assert main(["train", "--preset", "circles-mlp", "--set", "optim.label_smoothing=0.9"]) == 2
    with pytest.raises(ConfigError, match="optim.label_smoothing"):
        cfg.with_overrides(exp, ["optim.loss=mse", "optim.label_smoothing=0.1"])
    logits, y = torch.tensor([[4.0, 0.0, 0.0]]), torch.tensor([0])
    plain, smooth = losses.loss_fn("cross_entropy")(logits, y), losses.loss_fn(
        "cross_entropy", 0.2)(logits, y)
    assert smooth > plain  # a confident right answer costs more once the target is smoothed
    # and the training step minimises the smoothed loss, not only the evaluation
    import lab
    from core.engine.train import Trainer
    losses_of = []
    for smoothing in (0.0, 0.2):
        rec = lab.Recorder()
        Trainer(cfg.with_overrides(lab.circles(20), [f"optim.label_smoothing={smoothing}"]),
                [rec]).fit()
        losses_of.append(rec.epochs[-1].train.loss)
    assert losses_of[1] > losses_of[0] + 0.01
    with pytest.raises(ConfigError, match="hand-written backward"):
        cfg.with_overrides(exp, ["model.implementation=manual", "optim.label_smoothing=0.1"])
