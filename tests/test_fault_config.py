"""Fault tests of the config loader, writer and `--set`: odd bytes, deep nesting, control
characters, values the trainer used to fail on, malformed overrides.

Two hypothesis properties fuzz the loader and the writer: whatever TOML text or bytes come in,
`loads` / `load` raise nothing but ConfigError; every experiment that validates comes back
equal from `loads(dumps(exp))`. The focused tests below each reproduce one reported case.
"""

import dataclasses
import datetime
import math
import tempfile
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.experiment import config as cfg
from core.experiment import presets
from core.cli.main import main
from core import ConfigError

FUZZ = settings(max_examples=500, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.filter_too_much])
PRESETS = presets.names()
FIELDS = {s: {f.name: f for f in dataclasses.fields(c)} for s, c in cfg.SECTIONS.items()}
BLOCK_FIELDS = {f.name: f for f in dataclasses.fields(cfg.ConvBlock)}
KEYS = sorted({k for t in FIELDS.values() for k in t} | set(BLOCK_FIELDS) | set(cfg.SECTIONS)
              | {"name", "blocks"})


# ---------------------------------------------------------------- a TOML writer for the fuzz
def _str(v: str) -> str:
    """A TOML basic string; control characters are sometimes escaped and sometimes left raw
    (raw ones are invalid TOML: the loader must refuse them with a ConfigError)."""
    out = []
    for ch in v:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch in "\n\r" or (ord(ch) < 0x20 and ord(ch) % 3):
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _key(k: str) -> str:
    return k if k and all(c.isascii() and (c.isalnum() or c in "-_") for c in k) else _str(k)


def _val(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return "nan" if v != v else ("inf" if v == math.inf else "-inf" if v == -math.inf else repr(v))
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return _str(v)
    if isinstance(v, list):
        return "[" + ", ".join(_val(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_key(k)} = {_val(x)}" for k, x in v.items()) + "}"
    if isinstance(v, RawToml):
        return v.text
    if isinstance(v, (datetime.date, datetime.time)):  # TOML's dates and times
        return v.isoformat()
    raise TypeError(v)


@dataclasses.dataclass
class RawToml:
    text: str


def write_toml(d: dict) -> str:
    lines = [f"{_key(k)} = {_val(v)}" for k, v in d.items() if not isinstance(v, dict)]
    for k, table in d.items():
        if isinstance(table, dict):
            lines.append(f"[{_key(k)}]")
            rows = {a: b for a, b in table.items() if isinstance(b, list) and b
                    and all(isinstance(r, dict) for r in b)}
            lines += [f"{_key(a)} = {_val(b)}" for a, b in table.items() if a not in rows]
            for a, b in rows.items():
                for row in b:
                    lines.append(f"[[{_key(k)}.{_key(a)}]]")
                    lines += [f"{_key(x)} = {_val(y)}" for x, y in row.items()]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- strategies
def deep(n: int, kind: str) -> RawToml:
    if kind == "array":
        return RawToml("[" * n + "1" + "]" * n)
    return RawToml("{a = " * n + "1" + "}" * n)


scalars = st.one_of(
    st.integers(), st.integers(-3, 3), st.integers(2**63 - 2, 2**63 + 2), st.integers(-(2**70), 2**70),
    st.floats(), st.sampled_from([0.0, -0.0, 1e308, -1e308, 5e-324, 3.5e38, math.inf, -math.inf, math.nan]),
    st.booleans(), st.text(max_size=12), st.sampled_from(["", "a\u0001b", "x\x7fy", "c\u0085", "😀", "mlp",
                                                          "cnn", "circles", "shapes10", "folder"]),
    st.dates(), st.datetimes(), st.times(),
    st.builds(deep, st.integers(1, 1200), st.sampled_from(["array", "table"])),
    st.builds(lambda n: 10**n, st.integers(300, 4000)), st.just(RawToml("1" * 5000)))
values = st.recursive(scalars, lambda kids: st.lists(kids, max_size=4)
                      | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=4), kids, max_size=4),
                      max_leaves=10)


@st.composite
def config_dicts(draw) -> dict:
    """A preset's dict with some fields replaced by random values and some random keys added."""
    d = cfg.to_dict(presets.load(draw(st.sampled_from(PRESETS))))
    for _ in range(draw(st.integers(0, 4))):
        where = draw(st.sampled_from(["name"] + list(cfg.SECTIONS) + ["blocks"]))
        value = draw(values)
        if where == "name":
            d["name"] = value
        elif where == "blocks":
            if isinstance(d["model"], dict) and isinstance(d["model"].get("blocks"), list) \
                    and d["model"]["blocks"] and isinstance(d["model"]["blocks"][0], dict):
                row = draw(st.sampled_from(d["model"]["blocks"]))
                row[draw(st.sampled_from(sorted(BLOCK_FIELDS)) | st.text(max_size=3))] = value
        elif draw(st.booleans()) or not isinstance(d[where], dict) or not d[where]:
            d[where] = value
        else:
            d[where][draw(st.sampled_from(sorted(FIELDS[where])) | st.text(max_size=3))] = value
    return d


@st.composite
def toml_texts(draw) -> str:
    kind = draw(st.sampled_from(["structured", "structured", "mutated", "random"]))
    if kind == "random":
        return draw(st.text(alphabet=st.characters(codec="utf-8") | st.sampled_from(list('[]{}="\\.\n')),
                            max_size=80))
    d = draw(config_dicts())
    if not isinstance(d, dict):
        d = {"name": d}
    text = write_toml(d)
    if kind == "mutated" and text:  # a random character inserted, deleted or replaced
        i = draw(st.integers(0, len(text) - 1))
        ch = draw(st.sampled_from(list('[]{}="\'\\.,#\n\x00\x01\x7f') + ["\u2028", "é"]))
        text = text[:i] + draw(st.sampled_from([ch, "", ch + text[i]])) + text[i + 1:]
    return text


def _field_value(section: str, name: str):
    """Mostly valid values of one field, with its bounds and some odd ones."""
    m, kind = cfg.field_of(section, name).metadata, cfg.field_type(section, name)
    allowed = cfg.choices(section, name)
    if allowed:
        return st.sampled_from(allowed)
    if kind is bool:
        return st.booleans()
    lo, hi = m.get("min"), m.get("max")
    if kind is int:
        lo = int(lo) if lo is not None else -(2**63)
        hi = int(hi) if hi is not None else 2**63 - 1
        return st.one_of(st.integers(lo, min(hi, lo + 40)), st.integers(lo, hi),
                         st.sampled_from([lo, hi]))
    if kind is float:
        lo = lo if lo is not None else -1e308
        hi = hi if hi is not None else 1e308
        return st.one_of(st.floats(lo, hi, allow_nan=False), st.sampled_from([lo, hi, -0.0, 0.5, 1e-300]))
    if kind == list[int]:
        return st.lists(st.integers(1, 2**63 - 1) | st.integers(1, 64), max_size=3)
    if kind == list[cfg.ConvBlock]:
        return st.lists(st.fixed_dictionaries({}, optional={
            n: _field_value("block", n) for n in BLOCK_FIELDS}), max_size=2)
    assert kind is str, (section, name, kind)
    return text_values


text_values = st.one_of(
    st.text(st.characters(exclude_categories=("Cc", "Cs")), max_size=16),
    st.text(max_size=8),  # control characters too: validation refuses those
    st.sampled_from(['"', "\\", "'''", '"""', "a\\nb", "\\u0041", "C:\\data\\x", "~/imgs", "é\u2028ü",
                     "\U0001F600", "#", "[data]", "=", " leading", "trailing "]))


@st.composite
def experiments(draw) -> dict:
    d = cfg.to_dict(presets.load(draw(st.sampled_from(PRESETS))))
    if draw(st.booleans()):
        d["name"] = draw(text_values)
    for _ in range(draw(st.integers(1, 6))):
        s = draw(st.sampled_from(sorted(FIELDS)))
        name = draw(st.sampled_from(sorted(FIELDS[s])))
        d[s][name] = draw(_field_value(s, name))
    return d


# ---------------------------------------------------------------- the properties
@FUZZ
@given(toml_texts())
def test_loads_raises_nothing_but_config_error(text):
    try:
        exp = cfg.loads(text)
    except ConfigError as e:
        assert str(e) and "Traceback" not in str(e)
        assert len(str(e)) < 1000  # a sentence, not a dump of the value
        return
    assert cfg.loads(cfg.dumps(exp)) == exp


_TMP = Path(tempfile.mkdtemp(prefix="learnscope-fuzz-"))


@FUZZ
@given(st.binary(max_size=200) | toml_texts().map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_load_of_random_bytes_raises_nothing_but_config_error_naming_the_file(data):
    path = _TMP / "fuzz.toml"
    path.write_bytes(data)
    try:
        exp = cfg.load(path)
    except ConfigError as e:
        assert str(path) in str(e)
        return
    assert cfg.loads(cfg.dumps(exp)) == exp



@FUZZ
@given(experiments())
def test_every_valid_experiment_round_trips_through_dumps(d):
    try:
        exp = cfg.from_dict(d)
    except ConfigError:
        return
    text = cfg.dumps(exp)
    assert tomllib.loads(text) == cfg.to_dict(exp)
    again = cfg.loads(text)
    assert again == exp
    assert cfg.dumps(again) == text
    assert cfg.validate(again) is again  # what the GUI re-checks before training



# ---------------------------------------------------------------- not UTF-8
def test_a_config_file_that_is_not_utf8_is_a_config_error_naming_the_file(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_bytes(b'name = "ok"\nnote = "\xff"\n')
    with pytest.raises(ConfigError, match=r"bad\.toml is not UTF-8 text \(byte 0xff on line 2"):
        cfg.load(path)


def test_the_cli_refuses_a_file_that_is_not_utf8_with_one_sentence_and_exit_2(tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_bytes(b'name = "\xff"\n')
    assert main(["train", str(path), "--out", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and str(path) in err and "UTF-8" in err
    assert len(err.splitlines()) == 1 and "Traceback" not in err


def test_a_run_whose_config_is_not_utf8_is_listed_with_the_reason(tmp_path):
    from core.store import reader as run_reader
    folder = tmp_path / "runs" / "20260101-000000-bad"
    folder.mkdir(parents=True)
    (folder / "config.toml").write_bytes(b'name = "\xff"\n')
    listed = run_reader.list_runs(tmp_path / "runs")
    assert [r.folder.name for r in listed] == [folder.name]
    assert "config.toml is not UTF-8 text (byte 0xff on line 1" in listed[0].problem


def test_an_error_in_a_file_names_the_file_and_the_line(tmp_path):
    path = tmp_path / "exp.toml"
    path.write_text('name = "x"\n[optim]\nlr = = 1\n')
    with pytest.raises(ConfigError, match=r"exp\.toml: not valid TOML .*line 3"):
        cfg.load(path)
    path.write_text('[optim]\nlr = "fast"\n')
    with pytest.raises(ConfigError, match=r"exp\.toml: optim\.lr: must be a number"):
        cfg.load(path)


# ---------------------------------------------------------------- deep nesting
@pytest.mark.parametrize("text", ["x = " + "[" * 500 + "]" * 500, "x = " + "{a = " * 500 + "1" + "}" * 500,
                                  "[model]\nhidden = " + "[" * 300 + "1" + "]" * 300])
def test_deep_nesting_is_a_config_error_not_a_recursion_error(text):
    with pytest.raises(ConfigError, match="nested|unknown section|list of whole numbers"):
        cfg.loads(text)


def test_deep_nesting_in_a_set_value_is_refused_by_name():
    deep_value = "[" * 600 + "]" * 600
    with pytest.raises(ConfigError, match="model.hidden"):
        cfg.with_overrides(presets.load("circles-mlp"), [f"model.hidden={deep_value}"])


# ---------------------------------------------------------------- control characters
@pytest.mark.parametrize("key,line", [("name", 'name = "a\\u0001b"'),
                                      ("data.root", '[data]\nroot = "/tmp/a\\u0007b"'),
                                      ("train.device", '[train]\ndevice = "cpu\\n"'),
                                      ("data.test_root", '[data]\ntest_root = "x\\u007f"')])
def test_control_characters_in_a_text_field_are_refused_by_name(key, line):
    with pytest.raises(ConfigError, match=rf"{key}: contains the control character U\+00"):
        cfg.loads(line)


def test_validate_refuses_a_name_with_a_control_character_set_in_place():
    exp = presets.load("circles-mlp")
    exp.name = "tab\there"  # as the GUI's name field would set it
    with pytest.raises(ConfigError, match="name: contains the control character U\\+0009"):
        cfg.validate(exp)


@pytest.mark.parametrize("text", ["a\u0001b", "cr\rlf\n", "del\x7f", "c1\u0085", "nul\x00", 'q"b\\s',
                                  "é😀\u2028", "tab\t"])
def test_the_writer_escapes_every_string_so_the_toml_loads_back(text):
    exp = cfg.Experiment(name=text)  # unvalidated: the writer alone must still write valid TOML
    exp.data.root = text
    back = tomllib.loads(cfg.dumps(exp))
    assert back["name"] == text and back["data"]["root"] == text


def test_odd_numbers_round_trip_through_the_writer():
    exp = presets.load("circles-mlp")
    exp.optim.weight_decay, exp.model.init_std, exp.optim.lr = 1e308, -0.0, 5e-324
    exp.train.seed, exp.train.dtype = 2**63 - 1, "float64"
    assert cfg.loads(cfg.dumps(exp)) == exp


# ---------------------------------------------------------------- validator gaps
CIRCLES = presets.load("circles-mlp")


@pytest.mark.parametrize("overrides,key", [
    (["data.n_train=1"], "data.n_train"),
    (["data.n_test=1"], "data.n_test"),
    (["train.seed=9223372036854775808"], "train.seed"),
    (["train.seed=-1"], "train.seed"),
    (["optim.weight_decay=1e308"], "optim.weight_decay"),
    (["optim.lr=1e308"], "optim.lr"),
    (["model.init_std=1e39"], "model.init_std"),
    (["optim.lr=" + "9" * 400], "optim.lr"),
    (["model.hidden=[100000000000000000000]"], r"model.hidden\[0\]"),
    (["data.n_train=2", "data.val_fraction=0.9"], "data.val_fraction"),
])
def test_values_that_failed_in_training_are_refused_by_name(overrides, key):
    with pytest.raises(ConfigError, match=rf"^{key}: "):
        cfg.with_overrides(CIRCLES, overrides)


def test_huge_floats_are_accepted_in_float64():
    exp = cfg.with_overrides(CIRCLES, ["optim.weight_decay=1e308", "train.dtype=float64"])
    assert exp.optim.weight_decay == 1e308


@pytest.mark.parametrize("size", [8, 12, 15])
def test_shapes10_below_16_pixels_is_refused_by_name(size):
    with pytest.raises(ConfigError, match="^data.image_size: Shapes-10"):
        cfg.with_overrides(presets.load("shapes-cnn"), [f"data.image_size={size}"])
    folder = cfg.with_overrides(presets.load("shapes-cnn"), ["data.dataset=folder", "data.root=/x",
                                                             f"data.image_size={size}"])
    assert folder.data.image_size == size  # an image folder may still be resized that small


def test_a_val_fraction_that_leaves_nothing_exits_2_like_every_config_error(tmp_path, capsys):
    code = main(["train", "--preset", "circles-mlp", "--epochs", "1", "--out", str(tmp_path),
                 "--set", "data.n_train=2", "--set", "data.val_fraction=0.9"])
    assert code == 2
    assert "data.val_fraction" in capsys.readouterr().err


def test_the_loaders_val_fraction_check_is_a_config_error():
    # data sets whose size is only known once loaded (image folders) are checked by the loader
    from core.data import loader
    with pytest.raises(ConfigError, match="^data.val_fraction"):
        loader.load(cfg.DataConfig(dataset="circles", n_train=2, val_fraction=0.9), seed=0)


def test_the_largest_seed_trains(tmp_path, capsys):
    code = main(["train", "--preset", "circles-mlp", "--epochs", "1", "--out", str(tmp_path),
                 "--set", "train.seed=9223372036854775807", "--set", "data.n_train=20",
                 "--set", "data.n_test=20"])
    assert code == 0, capsys.readouterr().err


# ---------------------------------------------------------------- --set
def test_set_without_a_section_says_so():
    with pytest.raises(ConfigError) as e:
        cfg.with_overrides(CIRCLES, [".x=1"])
    assert str(e.value).startswith("--set '.x=1': the key '.x' lacks a section before the dot")
    with pytest.raises(ConfigError, match="lacks a field after the dot"):
        cfg.with_overrides(CIRCLES, ["optim.=1"])
    with pytest.raises(ConfigError, match="unknown section 'foo'"):
        cfg.with_overrides(CIRCLES, ["foo.x=1"])


@pytest.mark.parametrize("text", ["optim.lr=0.1\ntrain.epochs=5", "data.root=/tmp/a\nb", "name.x=a\rb"])
def test_a_set_value_with_a_line_break_is_refused(text):
    with pytest.raises(ConfigError, match="contains a line break"):
        cfg.with_overrides(CIRCLES, [text])
