"""The typed config schema: type hints (resolved, not compared as text) drive coercion, choices
come from a Literal or a registry, TOML is written by tomli_w, and the panels' boxes are
built from the fields' group and order, so a new field shows up with no panel edit."""

from __future__ import annotations

import dataclasses
import tomllib
from typing import Literal

import pytest
import tomli_w
from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QGroupBox, QLabel, QWidget

from conftest_qt import *  # noqa: F401,F403  (autouse: no dangling QThread, temp settings)
from core.experiment import config as cfg
from core.experiment import optimizers
from core.experiment import presets
from core.data import registry as datasets
from core import ConfigError
from core.experiment.schema import setting


@dataclasses.dataclass
class OptimWithSmoothing(cfg.OptimConfig):
    """OptimConfig plus a switch, as a contributor would add it (here as a subclass)."""
    label_smoothing: float = setting(0.0, "Share of the target spread over the other classes.",
                                     min=0.0, max=0.5, label="Label smoothing",
                                     group="Loss and optimiser", order=3, step=0.05)
    warmup: Literal["none", "linear"] = setting(
        "none", "Learning-rate warm-up over the first epoch.", label="Warm-up",
        group="Learning-rate schedule", order=9, shown={"linear": "linear ramp"})


@dataclasses.dataclass
class DataWithJitter(cfg.DataConfig):
    jitter: bool = setting(False, "Randomly jitter the brightness of training images.",
                           label="Jitter", group="Preprocessing", order=5,
                           check_text="brightness jitter")


@pytest.fixture
def extended(monkeypatch):
    monkeypatch.setitem(cfg.SECTIONS, "optim", OptimWithSmoothing)
    monkeypatch.setitem(cfg.SECTIONS, "data", DataWithJitter)


def _row_label(w) -> str:
    """The text of the label in the form row that holds w."""
    box = w.parentWidget()
    while not isinstance(box, QGroupBox):
        box = box.parentWidget()
    form = box.layout()
    assert isinstance(form, QFormLayout)
    label = form.labelForField(w)
    return label.text() if isinstance(label, QLabel) else ""


def _box_title(w) -> str:
    box = w.parentWidget()
    while not isinstance(box, QGroupBox):
        box = box.parentWidget()
    return box.title()


# ---------------------------------------------------------------- types drive coercion
def test_field_types_are_resolved_hints_not_strings():
    assert cfg.field_type("model", "hidden") == list[int]
    assert cfg.field_type("model", "blocks") == list[cfg.ConvBlock]
    assert cfg.field_type("optim", "lr") is float and cfg.field_type("train", "epochs") is int
    assert cfg.field_type("data", "flip") is bool and cfg.field_type("train", "device") is str
    assert cfg.field_type("model", "activation") == Literal["tanh", "relu", "sigmoid"]
    assert cfg.field_type("block", "pool") == Literal["max", "avg", "none"]
    with pytest.raises(KeyError):
        cfg.field_type("optimizer", "lr")  # only 'block' is an alias, no section falls back
    with pytest.raises(KeyError):
        cfg.field_type("optim", "lrr")


def test_a_literal_field_refuses_a_wrong_value_listing_its_choices():
    assert cfg.choices("model", "activation") == ("tanh", "relu", "sigmoid")
    with pytest.raises(ConfigError) as e:
        cfg.loads("[model]\nactivation = 'gelu'")
    assert str(e.value) == "model.activation: must be one of 'tanh', 'relu', 'sigmoid', got 'gelu'"
    with pytest.raises(ConfigError, match="^model.activation: must be text, got 3$"):
        cfg.loads("[model]\nactivation = 3")
    with pytest.raises(ConfigError, match=r"^model\.blocks\[0\]\.pool: must be one of 'max', 'avg', "
                                          r"'none', got 'min'$"):
        cfg.loads("[data]\ndataset = 'shapes10'\n[model]\nkind = 'cnn'\n[[model.blocks]]\npool = 'min'")


def test_a_new_literal_field_is_coerced_and_checked_from_its_hint(extended):
    exp = cfg.from_dict({"optim": {"warmup": "linear", "label_smoothing": 0.1}})
    assert isinstance(exp.optim, OptimWithSmoothing)
    assert exp.optim.warmup == "linear" and exp.optim.label_smoothing == 0.1
    with pytest.raises(ConfigError, match="^optim.warmup: must be one of 'none', 'linear', got 'cos'"):
        cfg.from_dict({"optim": {"warmup": "cos"}})
    with pytest.raises(ConfigError, match="^optim.label_smoothing: must be <= 0.5, got 0.9"):
        cfg.from_dict({"optim": {"label_smoothing": 0.9}})
    with pytest.raises(ConfigError, match="^optim.label_smoothing: must be a number, got 'x'"):
        cfg.from_dict({"optim": {"label_smoothing": "x"}})


def test_registry_choices_are_read_when_validating():
    toy = datasets.DataSet("toy-rings", "Toy rings (2D)", "points", "core.data.toy2d:load",
                           known_train=200)
    with pytest.raises(ConfigError, match="^data.dataset: must be one of 'circles', .*got 'toy-rings'"):
        cfg.loads("[data]\ndataset = 'toy-rings'")
    datasets.register(toy)
    try:
        assert "toy-rings" in cfg.choices("data", "dataset")
        assert cfg.choice_words("data", "dataset")["toy-rings"] == "Toy rings (2D)"
        exp = cfg.loads("[data]\ndataset = 'toy-rings'")
        assert exp.is_points and exp.data.dataset == "toy-rings"
    finally:
        datasets.unregister("toy-rings")
    assert "toy-rings" not in cfg.choices("data", "dataset")
    assert cfg.choices("optim", "optimizer") == tuple(optimizers.OPTIMIZERS)
    assert cfg.choices("optim", "scheduler") == tuple(optimizers.SCHEDULES)


# ---------------------------------------------------------------- TOML by tomli_w
@pytest.mark.parametrize("name", presets.names())
def test_tomli_w_writes_the_toml_and_it_reloads_equal(name, tmp_path):
    exp = presets.load(name)
    text = cfg.dumps(exp)
    assert text == tomli_w.dumps(cfg.to_dict(exp))
    assert tomllib.loads(text) == cfg.to_dict(exp)
    cfg.save(exp, tmp_path / "exp.toml")
    assert cfg.load(tmp_path / "exp.toml") == exp


def test_the_writer_refuses_a_lone_surrogate_rather_than_write_a_broken_file():
    exp = cfg.Experiment(name="a\udc80b")  # unvalidated: validation refuses it by name
    with pytest.raises(ValueError, match="lone surrogate U\\+DC80"):
        cfg.dumps(exp)
    with pytest.raises(ConfigError, match="^name: contains the control character U\\+DC80"):
        cfg.validate(exp)


# ---------------------------------------------------------------- groups and order
def test_fields_of_returns_a_box_in_its_declared_order():
    assert cfg.fields_of("Regularisation") == [("model", "dropout"), ("model", "dropout_place"),
                                               ("model", "batch_norm")]
    assert cfg.fields_of("Data set") == [("data", n) for n in
                                         ("dataset", "root", "download", "test_root", "image_size")]
    assert cfg.fields_of("Batch") == [("train", "batch_size")]
    assert cfg.fields_of("no such box") == []


def test_a_new_field_takes_its_place_by_order(extended):
    names = [n for _s, n in cfg.fields_of("Loss and optimiser")]
    # order 3 as optim.optimizer: the tie keeps the order the fields are declared in
    assert names[:5] == ["loss", "reduction", "optimizer", "label_smoothing", "lr"]
    assert [n for _s, n in cfg.fields_of("Learning-rate schedule")][-1] == "warmup"


def test_every_field_in_a_box_has_its_editor_in_that_box(qtbot):
    from app.panels.data import DataPanel
    from app.panels.model import ModelPanel
    from app.panels.optim import OptimPanel
    panels = [DataPanel(), OptimPanel(), ModelPanel()]
    for p in panels:
        qtbot.addWidget(p)
    groups = {f.metadata["group"] for cls in cfg.SECTIONS.values() for f in dataclasses.fields(cls)
              if f.metadata.get("group")}
    for group in groups:
        for section, name in cfg.fields_of(group):
            found = [w for p in panels for w in p.findChildren(QWidget, f"{section}.{name}")]
            assert len(found) == 1, (section, name)
            assert _box_title(found[0]) == group
            assert cfg.field_help(section, name) in found[0].toolTip()


def test_an_editor_is_made_for_a_known_section_only(qtbot):
    from app.form import make_editor
    pool = make_editor("block", "pool")  # 'block': a conv block of model.blocks
    qtbot.addWidget(pool)
    assert isinstance(pool, QComboBox) and pool.itemData(0) == "max"
    with pytest.raises(KeyError):
        make_editor("conv", "pool")  # no longer read as a conv block's field
    with pytest.raises(KeyError):
        make_editor("optim", "pool")


# ---------------------------------------------------------------- a new field in its panel
def test_a_new_field_appears_in_its_panel_and_loads_and_stores(qtbot, extended):
    from app.panels.data import DataPanel
    from app.panels.optim import OptimPanel
    optim, data = OptimPanel(), DataPanel()
    qtbot.addWidget(optim)
    qtbot.addWidget(data)
    smoothing = optim.findChild(QWidget, "optim.label_smoothing")
    assert optim.editors[("optim", "label_smoothing")] is smoothing
    assert _box_title(smoothing) == "Loss and optimiser" and _row_label(smoothing) == "Label smoothing"
    assert smoothing.singleStep() == 0.05 and "Share of the target" in smoothing.toolTip()
    warmup = optim.editors[("optim", "warmup")]
    assert isinstance(warmup, QComboBox) and _box_title(warmup) == "Learning-rate schedule"
    assert [warmup.itemText(i) for i in range(warmup.count())] == ["none", "linear ramp"]
    jitter = data.editors[("data", "jitter")]
    assert isinstance(jitter, QCheckBox) and jitter.text() == "brightness jitter"
    assert _box_title(jitter) == "Preprocessing" and _row_label(jitter) == "Jitter"

    exp = cfg.from_dict({"optim": {"label_smoothing": 0.2, "warmup": "linear"},
                         "data": {"dataset": "shapes10", "jitter": True}})
    optim.load(exp)
    data.load(exp)
    assert smoothing.value() == 0.2 and warmup.currentData() == "linear" and jitter.isChecked()
    with qtbot.waitSignal(optim.changed):
        smoothing.setValue(0.3)
    out = cfg.from_dict(cfg.to_dict(exp))
    optim.store(out)
    data.store(out)
    assert out.optim.label_smoothing == 0.3 and out.optim.warmup == "linear" and out.data.jitter
    assert cfg.validate(out) is out


def test_a_registered_optimiser_enables_the_fields_it_uses(qtbot):
    from app.panels.optim import OptimPanel
    heavy = optimizers.Optimizer("heavy-ball", "Heavy ball", lambda params, oc: None,
                                 uses=("momentum",))
    optimizers.register_optimizer(heavy)
    try:
        panel = OptimPanel()
        qtbot.addWidget(panel)
        exp = presets.load("circles-mlp")
        exp.optim.optimizer = "heavy-ball"
        panel.load(exp)
        momentum, nesterov = panel.editors[("optim", "momentum")], panel.editors[("optim", "nesterov")]
        assert panel.optimizer.currentText() == "Heavy ball"
        assert momentum.isEnabled() and not nesterov.isEnabled()
        with qtbot.waitSignal(panel.changed):
            panel.optimizer.setCurrentIndex(panel.optimizer.findData("adam"))
        assert not momentum.isEnabled() and panel.editors[("optim", "weight_decay")].isEnabled()
        panel.scheduler.setCurrentIndex(panel.scheduler.findData("step"))
        assert panel.gamma.isEnabled() and panel.step_size.isEnabled()
        panel.scheduler.setCurrentIndex(panel.scheduler.findData("exponential"))
        assert panel.gamma.isEnabled() and not panel.step_size.isEnabled()
    finally:
        optimizers.OPTIMIZERS.pop("heavy-ball")


def test_the_data_panel_reads_what_a_data_set_allows_from_its_entry(qtbot):
    from app.panels.data import DataPanel
    toy = datasets.DataSet("toy-scans", "Toy scans (folder)", "images", "core.data.vision:load_folder",
                           needs_root=True, can_download=True, side=20)
    datasets.register(toy)
    try:
        panel = DataPanel()
        qtbot.addWidget(panel)
        at = panel.dataset.findData("toy-scans")
        assert panel.dataset.itemText(at) == "Toy scans (folder)"
        panel.dataset.setCurrentIndex(at)
        assert panel.root.isEnabled() and panel.download.isEnabled()
        assert not panel.test_root.isEnabled() and not panel.image_size.isEnabled()
        assert panel.crop.isEnabled() and not panel.noise.isEnabled()
        panel.dataset.setCurrentIndex(panel.dataset.findData("moons"))
        assert not panel.root.isEnabled() and panel.noise.isEnabled() and not panel.crop.isEnabled()
    finally:
        datasets.unregister("toy-scans")
