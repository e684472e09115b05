"""Studies (issue 16): matched runs from one base and a list of variants, their folder,
study.json, resuming, --parallel and the built-in ladders."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import lab
from core.experiment import config as cfg
from core import study as studies
from core.cli.main import main
from core import ConfigError
from core.study.runner import run_study
from core.store import reader as run_reader
from core.store.writers import recorded

ROOT = Path(__file__).resolve().parents[1]


def _flat(exp: cfg.Experiment) -> dict:
    d = cfg.to_dict(exp)
    return {f"{s}.{k}": v for s, t in d.items() if isinstance(t, dict) for k, v in t.items()}


def _study(kind: str, base=None, variants=None) -> studies.Study:
    variants = variants or (studies.Variant("baseline"),
                            studies.Variant("+ lr", ("optim.lr=0.3",), 11),
                            studies.Variant("+ batch", ("train.batch_size=20", "model.hidden=[6]")),
                            studies.Variant("+ mse", ("optim.loss=mse",), 8))
    return studies.Study("s", kind, base or lab.circles(2), tuple(variants))


def test_a_cumulative_rung_is_the_base_plus_the_first_k_overrides():
    study = _study("cumulative")
    rungs = studies.experiments(study)
    assert len(rungs) == 4
    for k, (v, exp) in enumerate(rungs):
        assert v is study.variants[k]
        first_k = [o for x in study.variants[:k + 1] for o in x.overrides]
        expected = cfg.with_overrides(study.base, first_k)
        assert _flat(exp) == _flat(expected)
        assert exp.name == f"s · {v.label}" and exp.train.seed == study.base.train.seed
    assert rungs[3][1].optim.lr == 0.3 and rungs[3][1].model.hidden == [6]


def test_an_independent_variant_differs_from_the_base_in_its_own_fields_only():
    study = _study("independent")
    base = _flat(study.base)
    for v, exp in studies.experiments(study):
        changed = {k for k, value in _flat(exp).items() if base[k] != value}
        assert changed == {o.split("=")[0] for o in v.overrides}


def test_effective_step_is_lr_over_one_minus_momentum_for_sgd():
    exp = cfg.with_overrides(lab.circles(), ["optim.lr=0.1", "optim.momentum=0.9",
                                             'optim.reduction="mean"'])
    assert studies.effective_step(exp) == pytest.approx(1.0)
    assert studies.effective_step(cfg.with_overrides(exp, ["optim.optimizer=adam"])) == 0.1
    # a loss summed over the batch (Part 1's) steps B times further along the mean gradient
    summed = cfg.with_overrides(exp, ['optim.reduction="sum"', "train.batch_size=10"])
    assert studies.effective_step(summed) == pytest.approx(10.0)


def test_rungs_with_the_same_architecture_start_from_the_same_weights_and_batches():
    from core.engine.train import Trainer
    study = studies.Study("m", "independent", lab.tiny_shapes(1), (
        studies.Variant("a", ("optim.lr=0.01",)), studies.Variant("b", ("optim.lr=0.2",))))
    seen = []

    class Spy:
        def __init__(self):
            self.state, self.first_loss = None, None

        def on_fit_start(self, info):
            self.state = {k: v.clone() for k, v in trainer.model.state_dict().items()}

        def on_batch_end(self, chunk):
            if self.first_loss is None:  # the first batch's loss, computed before any step
                self.first_loss = float(chunk.loss[0])

    for _v, exp in studies.experiments(study):
        spy = Spy()
        trainer = Trainer(exp, [spy])
        assert trainer.fit().status == "done"
        seen.append(spy)
    a, b = seen
    assert a.state.keys() == b.state.keys()
    assert all((a.state[k] == b.state[k]).all() for k in a.state)
    assert a.first_loss == b.first_loss


def _tiny_two_rung_file(tmp_path: Path, second_epochs: int = 3) -> Path:
    text = f"""
[study]
name = "two rungs"
kind = "cumulative"
preset = "circles-mlp"
[train]
epochs = 3
device = "cpu"
[[study.variant]]
label = "baseline"
[[study.variant]]
label = "+ lr 0.3"
question = 11
set = ["optim.lr=0.3", "train.epochs={second_epochs}"]
"""
    path = tmp_path / "two.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_study_json_is_valid_after_every_rung_and_names_each_run_folder(tmp_path):
    study = studies.load(_tiny_two_rung_file(tmp_path))
    seen = []

    def on_rung(row, rows):
        table = json.loads((tmp_path / "out" / "two-rungs" / "study.json").read_text())
        seen.append([r["status"] for r in table["rungs"]])
        assert table["rungs"][row["index"] - 1]["status"] == row["status"] == "done"

    rows = run_study(study, tmp_path / "out", on_rung=on_rung)
    assert seen == [["done", "pending"], ["done", "done"]]
    folder = tmp_path / "out" / "two-rungs"
    assert [r["run_folder"] for r in rows] == ["rung-01-baseline", "rung-02-lr-0.3"]
    assert all((folder / r["run_folder"] / "summary.json").is_file() for r in rows)
    assert rows[1]["change"] == pytest.approx(rows[1]["test_accuracy"] - rows[0]["test_accuracy"],
                                              abs=0.01)
    assert rows[1]["question"] == 11 and rows[0]["best_epoch"] >= 1
    again = studies.load(folder / "study.toml")  # the study as run loads back
    assert [v.label for v in again.variants] == ["baseline", "+ lr 0.3"]


def test_a_stalled_rung_says_so_with_its_effective_step(tmp_path):
    study = studies.Study("stall", "cumulative", lab.tiny_shapes(1), (
        studies.Variant("frozen", ("optim.lr=1e-12",)),))
    (row,) = run_study(study, tmp_path)
    assert row["status"] == "done" and row["stalled"]
    assert "chance" in row["message"] and "η/(1 − m)" in row["message"]


def test_a_diverged_rung_is_reported_and_the_ladder_goes_on(tmp_path):
    study = studies.Study("div", "cumulative", lab.tiny_shapes(1), (
        studies.Variant("huge", ("optim.lr=1e20",)), studies.Variant("sane", ("optim.lr=0.01",))))
    rows = run_study(study, tmp_path)
    assert rows[0]["status"] == "diverged" and "learning rate" in rows[0]["message"]
    assert rows[1]["status"] == "done"


def _poll(path: Path, proc, ready, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:  # a subprocess: nothing to wait on but its files
        if proc.poll() is not None:
            raise AssertionError(proc.stderr.read())
        try:
            table = json.loads(path.read_text())
        except (OSError, ValueError):
            table = None
        if table and ready(table):
            return table
        time.sleep(0.02)
    raise AssertionError("the study never got there")


def test_a_killed_study_resumes_keeping_its_finished_rungs(tmp_path):
    path = _tiny_two_rung_file(tmp_path, second_epochs=150)  # a second or two: running when killed
    out = tmp_path / "out"
    args = [sys.executable, "-m", "core", "study", str(path), "--out", str(out)]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    table_json = out / "two-rungs" / "study.json"
    try:
        first = _poll(table_json, proc, lambda t: t["rungs"][1]["status"] == "running")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    kept = first["rungs"][0]
    metrics = (out / "two-rungs" / kept["run_folder"] / "metrics.jsonl").read_text()
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    rows = json.loads(table_json.read_text())["rungs"]
    assert rows[0] == {**kept, "change": None}
    assert (out / "two-rungs" / kept["run_folder"] / "metrics.jsonl").read_text() == metrics
    assert rows[1]["status"] == "done" and rows[1]["epochs"] == 150
    assert rows[1]["run_folder"] == "rung-02-lr-0.3-2"  # the killed attempt's folder stays apart


def test_parallel_2_gives_the_same_rungs_as_sequential(tmp_path):
    study = studies.Study("par", "independent", lab.tiny_shapes(2), (
        studies.Variant("lr 0.05", ("optim.lr=0.05",)), studies.Variant("lr 0.2", ("optim.lr=0.2",))))
    seq = run_study(study, tmp_path / "seq")
    par = run_study(study, tmp_path / "par", parallel=2)
    keys = ("status", "train_accuracy", "test_accuracy", "best_test", "best_epoch", "run_folder")
    assert [{k: r[k] for k in keys} for r in par] == [{k: r[k] for k in keys} for r in seq]
    assert all(r["status"] == "done" for r in par)


@pytest.mark.parametrize("body, expected", [
    ('[study]\nname = "x"\nkind = "ladder"\n[[study.variant]]\nlabel = "a"',
     "study.kind: must be one of 'cumulative', 'independent'"),
    ('[study]\nname = "x"\npreset = "circles-mlp"\n[[study.variant]]\nlabel = "a"\n'
     '[[study.variant]]\nlabel = "b"\nset = ["optim.lr=abc"]',
     "study.variant[1].set[0]: --set optim.lr=abc: optim.lr:"),
    ('[study]\nname = "x"\npreset = "circles-mlp"\n[[study.variant]]\nlabel = "a"\nsets = []',
     "study.variant[0].sets: unknown field"),
    ('[study]\nname = "x"\npreset = "circles-mlp"\n[[study.variant]]\nlabel = "a"\n'
     'set = ["optim.nesterov=true"]', "study.variant[0].set: rung 1 (a): optim.nesterov"),
    ('[study]\nname = "x"\npreset = "nope"\n[[study.variant]]\nlabel = "a"', "study.preset:"),
    ('[study]\nname = "x"\npreset = "circles-mlp"', "study.variant: a study needs"),
])
def test_a_bad_study_file_gets_a_sentence_naming_the_entry_and_field(tmp_path, body, expected):
    with pytest.raises(ConfigError) as e:
        studies.loads(body, "bad.toml")
    assert str(e.value).startswith(f"bad.toml: {expected}")


def test_the_cli_answers_a_bad_study_file_with_exit_2_and_no_traceback(tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text('[study]\nname = "x"\nkind = "cumulative"\npreset = "circles-mlp"\n'
                    '[[study.variant]]\nlabel = "a"\nquestion = "one"\n', encoding="utf-8")
    assert main(["study", str(path)]) == 2
    err = capsys.readouterr().err
    assert "study.variant[0].question" in err and "Traceback" not in err
    assert main(["study", "ladder", "--preset", "nope"]) == 2


def test_the_cli_prints_a_row_per_rung(tmp_path, capsys):
    path = _tiny_two_rung_file(tmp_path)
    assert main(["study", str(path), "--out", str(tmp_path / "o"), "--epochs", "2"]) == 0
    out = capsys.readouterr().out
    assert "baseline" in out and "+ lr 0.3" in out and "study.json" in out
    rows = json.loads((tmp_path / "o" / "two-rungs" / "study.json").read_text())["rungs"]
    assert [r["epochs"] for r in rows] == [2, 2]  # --epochs overrides every rung's


@pytest.mark.parametrize("preset", ["shapes-cnn", "cifar-cnn"])
def test_the_built_in_ladders_load_and_their_rungs_validate(preset):
    study = studies.builtin("ladder", preset)
    assert study.kind == "cumulative" and len(study.variants) == 8
    rungs = studies.experiments(study)
    base = rungs[0][1]
    assert base.data.standardize == "none" and base.optim.lr == 0.1 and base.optim.momentum == 0
    assert base.train.batch_size == 128
    steps = [round(studies.effective_step(e), 6) for _v, e in rungs]
    assert steps == [0.1, 0.1, 0.1, 1.0, 0.1, 0.1, 0.1, 0.5]
    bn = rungs[6][1]
    assert (bn.data.standardize, bn.data.crop, bn.data.flip) == ("channel", 28, True)
    assert (bn.optim.scheduler, bn.optim.gamma, bn.model.dropout) == ("exponential", 0.95, 0.5)
    assert bn.model.batch_norm and bn.model.dropout_place == "fc"
    assert [v.question for v in study.variants][1:] == [19, 22, 26, 26, 29, 34, None]
    assert "stall" in study.variants[3].text
    assert {e.train.seed for _v, e in rungs} == {base.train.seed}
    # the last rung: the same layers, trained with the modern recipe
    recipe = rungs[7][1]
    assert study.variants[7].label == "+ a modern recipe"
    assert cfg.to_dict(recipe)["model"] == cfg.to_dict(bn)["model"]
    o = recipe.optim
    assert (o.label_smoothing, o.nesterov, o.weight_decay, o.scheduler, o.warmup, o.lr) == (
        0.2, True, 0.0005, "warmup-cosine", 2, 0.05)
    assert recipe.data.crop_padding == 2
    # a flip turns Shapes-10's arrows round (question 23): there the recipe drops it instead
    assert (recipe.data.flip, recipe.data.flip_test) == (
        (False, False) if preset == "shapes-cnn" else (True, True))


@pytest.mark.parametrize("preset", ["shapes-cnn", "cifar-cnn"])
def test_the_recipe_study_adds_each_choice_alone_to_the_batch_norm_rung(preset):
    study = studies.builtin("recipe", preset)
    rungs = studies.experiments(study)
    ladder = studies.experiments(studies.builtin("ladder", preset))
    assert study.kind == "independent"
    def settings(exp):  # all but the run's name
        return {k: v for k, v in cfg.to_dict(exp).items() if k != "name"}
    assert settings(rungs[0][1]) == settings(ladder[6][1])  # the base: the batch-norm rung
    assert settings(rungs[-1][1]) == settings(ladder[7][1])  # all of them: the last rung
    assert {e.train.seed for _v, e in rungs} == {ladder[0][1].train.seed}


def test_ctrl_c_stops_the_running_rung_and_exits_130_keeping_the_finished_ones(tmp_path):
    path = _tiny_two_rung_file(tmp_path, second_epochs=100000)
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "core", "study", str(path), "--out", str(out)],
                            cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _poll(out / "two-rungs" / "study.json", proc,
              lambda t: t["rungs"][1]["status"] == "running")
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130 and "Traceback" not in stderr and "resume" in stderr
    rows = json.loads((out / "two-rungs" / "study.json").read_text())["rungs"]
    assert [r["status"] for r in rows] == ["done", "stopped"]
    assert "stopped" in stdout


# -- study folders in the run store: listed, renamed and deleted with their rungs
def _stored_study(root: Path) -> Path:
    """A study folder of two one-epoch rungs in root, beside a run of its own."""
    from core.engine.train import Trainer
    study = studies.Study("pair", "cumulative", lab.circles(1, **{"data.n_train": 40}), (
        studies.Variant("baseline"), studies.Variant("+ lr 0.3", ("optim.lr=0.3",), 11)))
    run_study(study, root)
    recorded(Trainer(lab.circles(1, **{"data.n_train": 40})), root).fit()
    return root / "pair"


def test_list_runs_finds_a_study_folders_rungs_and_tells_them_their_study(tmp_path):
    from core.store import runs as store
    from core.store import reader as run_reader
    folder = _stored_study(tmp_path)
    listed = run_reader.list_runs(tmp_path)
    rungs = [r for r in listed if r.study is not None]
    (loose,) = [r for r in listed if r.study is None]
    assert loose.folder.parent == tmp_path and loose.rung is None
    assert [r.folder for r in rungs] == [folder / "rung-01-baseline", folder / "rung-02-lr-0.3"]
    assert [(r.rung, r.rung_label) for r in rungs] == [(1, "baseline"), (2, "+ lr 0.3")]
    assert {(r.study.name, r.study.kind, r.study.folder) for r in rungs} == {
        ("pair", "cumulative", folder)}
    assert [row["status"] for row in rungs[0].study.rows] == ["done", "done"]
    assert all(r.problem == "" and r.experiment is not None for r in rungs)


@pytest.mark.parametrize("data, why", [
    (b'{"name": "pair", "rungs": [', "study.json is not valid JSON"),
    (b"[1, 2]", "study.json holds [1, 2], not a study's table"),
    (b'{"name": "pair", "rungs": 3}', "study.json: 'rungs' is 3, not a list of rungs"),
    (b"\xff\xfe", "study.json is not UTF-8 text"),
])
def test_a_damaged_study_json_hides_no_rung_and_says_why_on_each(tmp_path, data, why):
    from core.store import runs as store
    folder = _stored_study(tmp_path)
    (folder / "study.json").write_bytes(data)
    rungs = [r for r in run_reader.list_runs(tmp_path) if r.study is not None]
    assert [(r.rung, r.rung_label) for r in rungs] == [(1, "baseline"), (2, "lr-0.3")]
    assert all(why in r.problem and r.experiment is not None for r in rungs)
    assert rungs[0].study.name == "pair" and rungs[0].study.rows == []  # the name: study.toml's
    assert rungs[0].metrics()  # its epochs still read


def test_an_earlier_attempt_of_a_rung_says_so(tmp_path):
    from core.store import runs as store
    folder = _stored_study(tmp_path)
    shutil.copytree(folder / "rung-02-lr-0.3", folder / "rung-02-lr-0.3-2")
    table = json.loads((folder / "study.json").read_text())
    table["rungs"][1]["run_folder"] = "rung-02-lr-0.3-2"  # trained again after a kill
    (folder / "study.json").write_text(json.dumps(table))
    labels = {r.folder.name: r.rung_label for r in run_reader.list_runs(tmp_path) if r.study}
    assert labels["rung-02-lr-0.3-2"] == "+ lr 0.3"
    assert labels["rung-02-lr-0.3"] == "+ lr 0.3 (earlier attempt)"


def test_a_rung_is_renamed_and_deleted_like_a_run_and_nothing_else_nested_is(tmp_path):
    from core.store import runs as store
    folder = _stored_study(tmp_path)
    rung = folder / "rung-01-baseline"
    assert store.rename_run(rung, "first", tmp_path) == "first"
    assert run_reader.open_run(rung).name == "first"
    store.delete_run(rung, tmp_path)
    assert not rung.exists() and (folder / "rung-02-lr-0.3").exists()
    other = tmp_path / "mine"  # a folder of the user's, not a study: its runs are not LearnScope's
    shutil.copytree(folder / "rung-02-lr-0.3", other / "run")
    with pytest.raises(store.RunError, match="not a run folder inside"):
        store.delete_run(other / "run", tmp_path)
    with pytest.raises(store.RunError, match="not a run folder inside"):
        store.rename_run(other / "run", "x", tmp_path)
    shutil.copytree(folder / "rung-02-lr-0.3", folder / "rung-02-lr-0.3" / "deeper")
    with pytest.raises(store.RunError, match="not a run folder inside"):
        store.delete_run(folder / "rung-02-lr-0.3" / "deeper", tmp_path)
    assert (other / "run" / "config.toml").exists()


def test_delete_study_removes_its_folder_and_refuses_what_it_did_not_write(tmp_path):
    from core.store import runs as store
    folder = _stored_study(tmp_path)
    (folder / "rung-03-reserved").mkdir()  # an attempt killed before its first file
    (folder / "rung-02-lr-0.3" / "notes.txt").write_text("mine")
    with pytest.raises(store.RunError, match="rung-02-lr-0.3/notes.txt, which LearnScope did"):
        store.delete_study(folder, tmp_path)
    assert (folder / "study.json").exists() and (folder / "rung-01-baseline" / "weights.pt").exists()
    (folder / "rung-02-lr-0.3" / "notes.txt").unlink()
    with pytest.raises(store.RunError, match="not a study folder"):
        store.delete_study(folder / "rung-01-baseline", tmp_path)
    store.delete_study(folder, tmp_path)
    assert not folder.exists() and len(run_reader.list_runs(tmp_path)) == 1  # the loose run stays
