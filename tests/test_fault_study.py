"""Fault tests of study files: whatever a study file holds (fuzzed, mutated, a FIFO, a link to
/dev/zero, a name built to escape --out, a label too long for a folder), the loader answers
with its own error (a ConfigError naming the field) and nothing is written where it should
not be. A hypothesis fuzz (fixed seed) runs the study loader and the folder names a study
would write on generated and mutated study files."""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.experiment import config as cfg
from core.experiment import schema
from core import study as studies
from core import ConfigError
from core.study.runner import study_folder
from tests.test_fault_config import _str, write_toml

FUZZ = settings(max_examples=400, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.filter_too_much])
LADDER = Path(studies._files()["ladder-shapes-cnn"]).read_text(encoding="utf-8")
#: text meant to escape a folder, break a name or a table
NASTY = ["..", ".", "", " ", "/", "a/b", "..\\..", "\0", "x" * 300, "é" * 200, "=cmd()", "-",
         "\u202e", "rung-01", "study.json", "~", "$HOME", "%s", "CON"]
OVERRIDES = ["optim.lr=0.01", "optim.lr=-1", "optim.lr=1e400", "data.standardize=channel",
             "data.standardize=nope", "model.dropout=0.5", "model.dropout=2", "train.epochs=0",
             "model.batch_norm=true", "data.crop=28", "name=x", "nosection.x=1", "optim=1",
             "=", "optim.lr", "optim.momentum=0.9", "data.flip=true", "train.seed=1e99",
             "model.fc=[]", "model.blocks=[]", "data.dataset=mnist"]


GOOD_NAMES = ["ladder", "my study", "Étude 2", "lr sweep", "a.b", "x-y_z"]
GOOD_OVERRIDES = ["optim.lr=0.01", "data.standardize=\"channel\"", "model.dropout=0.5",
                  "optim.momentum=0.9", "train.epochs=2", "data.flip=true", "optim.lr=0.3"]


def names(good):
    """Mostly text a person would write (so that most files load and their folders get
    named), often text meant to break a folder name."""
    return st.sampled_from(good) | st.sampled_from(good) | st.sampled_from(NASTY) | st.text(max_size=12)


@st.composite
def study_tables(draw) -> dict:
    variant = st.fixed_dictionaries(
        {"label": names(["baseline", "+ standardisation", "+ dropout", "+ η = 0.01", "b"])},
        optional={"question": st.integers(1, 40) | st.integers(-2, 0) | st.just("7"),
                  "set": st.lists(st.sampled_from(GOOD_OVERRIDES) | st.sampled_from(GOOD_OVERRIDES)
                                  | st.sampled_from(OVERRIDES) | st.text(max_size=10), max_size=3),
                  "text": st.text(max_size=8)})
    study = draw(st.fixed_dictionaries(
        {"name": names(GOOD_NAMES), "variant": st.lists(variant, min_size=1, max_size=4),
         "preset": st.sampled_from(["shapes-cnn", "circles-mlp", "circles-mlp", "nope"])},
        optional={"kind": st.sampled_from(["cumulative", "independent", "other"]),
                  "text": st.text(max_size=8), "extra": st.integers()}))
    table = {"study": study}
    if draw(st.booleans()):
        table["train"] = {"epochs": draw(st.integers(-1, 3)), "batch_size": draw(st.integers(0, 64))}
    return table


def load_and_name(text: str, tmp: Path) -> None:
    """What a study start does before it trains: load the file, check it, name its folders."""
    path = tmp / "s.toml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    study = studies.load(path)
    folder = study_folder(study, tmp / "out")
    assert folder.parent == tmp / "out"  # never outside --out
    for k, v in enumerate(study.variants):
        name = studies.rung_folder_name(k, v.label)
        assert "/" not in name and name not in (".", "..") and len(name.encode()) <= 251


def check_only_config_errors(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        try:
            load_and_name(text, Path(tmp))
        except ConfigError:
            pass
        assert sorted(os.listdir(tmp)) == ["s.toml"]  # naming folders creates none


@FUZZ
@given(study_tables())
def test_generated_study_files_meet_only_the_study_loaders_error(table):
    check_only_config_errors(write_toml(table))


@FUZZ
@given(st.lists(st.tuples(st.integers(0, len(LADDER) - 1),
                          st.sampled_from(['"', "]", "[", "=", "\n", "..", "\\", "x" * 300, "",
                                           "[[study.variant]]\n", "label = \"..\"\n", "\0",
                                           "'''", "1e999", "[study]\n"])),
                min_size=1, max_size=4))
def test_mutated_ladder_files_meet_only_the_study_loaders_error(edits):
    text = LADDER
    for at, piece in sorted(edits, reverse=True):
        text = text[:at] + piece + text[at + 1:]
    check_only_config_errors(text)


# ---------------------------------------------------------------- the reported cases
def cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


def study_text(name: str, label: str = "a") -> str:
    return (f"[study]\nname = {_str(name)}\npreset = \"circles-mlp\"\n[train]\nepochs = 1\n"
            f"[[study.variant]]\nlabel = {_str(label)}\n")


def listing(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


@pytest.mark.parametrize("name", ["..", "."])
def test_a_study_named_dotdot_writes_nothing_outside_out(tmp_path, name):
    (tmp_path / "out").mkdir()
    (tmp_path / "s.toml").write_text(study_text(name), encoding="utf-8")
    before = listing(tmp_path)
    r = cli("study", "s.toml", "--out", "out", cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert "study.name" in r.stderr and "Traceback" not in r.stderr
    assert listing(tmp_path) == before  # nothing in out, nothing beside it


def test_a_study_label_too_long_for_a_folder_is_exit_2_naming_it(tmp_path):
    (tmp_path / "s.toml").write_text(study_text("ok", "b" * 300), encoding="utf-8")
    r = cli("study", "s.toml", "--out", "out", cwd=tmp_path)
    assert r.returncode == 2
    assert "study.variant[0].label" in r.stderr and "too long" in r.stderr
    assert not (tmp_path / "out").exists()


def test_a_study_name_too_long_for_a_folder_is_named():
    with pytest.raises(ConfigError, match=r"study\.name: .* too long"):
        studies.loads(study_text("n" * 300))


def test_a_study_file_that_is_a_fifo_is_refused_at_once(tmp_path):
    os.mkfifo(tmp_path / "s.toml")
    r = cli("study", "s.toml", cwd=tmp_path)  # timeout=120: a wait for a writer would hang
    assert r.returncode == 2 and "named pipe" in r.stderr and "Traceback" not in r.stderr


def test_a_study_file_linked_to_dev_zero_is_refused(tmp_path):
    os.symlink("/dev/zero", tmp_path / "s.toml")
    with pytest.raises(ConfigError, match=r"s\.toml: cannot read it \(it is a device"):
        studies.load(tmp_path / "s.toml")


def test_a_huge_study_file_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "s.toml"
    with open(path, "wb") as f:
        f.truncate(64 * 1024 * 1024)  # sparse: 64 MiB of nothing, read by no one
    with pytest.raises(ConfigError, match="more than the"):
        studies.load(path)


def test_checking_a_cumulative_study_is_linear_in_its_rungs(monkeypatch):
    """1,000 rungs once took 31 s before the first trained: each rung re-applied every earlier
    override. Counted, not timed: the overrides applied grow as the rungs, not their square."""
    applied = []
    real = schema.override_table
    monkeypatch.setattr(schema, "override_table", lambda d, overrides, sections: applied.append(
        len(overrides)) or real(d, overrides, sections))

    def count(n):
        applied.clear()
        variants = tuple(studies.Variant(f"r{k}", (f"optim.lr={0.01 + k / 1e4}",))
                         for k in range(n))
        studies.check(studies.Study("long", "cumulative", cfg.validate(
            cfg.loads('[data]\ndataset = "circles"\n')), variants))
        return sum(applied)
    assert count(200) <= 2 * count(100) + 2  # n²/2 would be four times
