"""docs/extending.md's worked examples, run as written: a data set and an Inspect view are
added from the page's own code, then trained and drawn in the window."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest
from conftest_qt import *  # noqa: F401,F403

from core import config as cfg

DOC = Path(__file__).resolve().parents[1] / "docs" / "extending.md"
BLOCK = re.compile(r"<!-- (file: (?P<path>\S+)|run) -->\n```python\n(?P<code>.*?)```", re.S)


def _blocks() -> list[tuple[str | None, str]]:
    return [(m["path"], m["code"]) for m in BLOCK.finditer(DOC.read_text(encoding="utf-8"))]


@pytest.fixture
def documented(monkeypatch):
    """Install the page's modules (as if their files existed) and run its registry lines."""
    from app.views import registry as views
    from core.data import registry as datasets
    blocks = _blocks()
    assert [p for p, _ in blocks] == ["core/data/stripes.py", None, "app/views/weights.py", None]
    for path, code in blocks:
        if path:
            name = path.removesuffix(".py").replace("/", ".")
            module = types.ModuleType(name)
            module.__file__ = str(DOC)
            monkeypatch.setitem(sys.modules, name, module)
            exec(compile(code, f"{DOC}:{path}", "exec"), module.__dict__)
        else:  # a line of a registry module, run in that module's names
            target = datasets if "DataSet(" in code else views
            exec(compile(code, f"{DOC}:registry", "exec"), dict(vars(target)))
    yield
    datasets.unregister("stripes")
    views.unregister_view("weights")


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
