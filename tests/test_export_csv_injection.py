"""CSV injection (issue 22, item 6): text that a spreadsheet would run as a formula is written
behind a single quote (OWASP's advice), numbers are written as numbers, negative ones included."""

import csv
import json

import pytest

from core import study as studies
from core.export import csv_files as export_csv
from core.study.runner import StudyRunner
from tests import lab

FORMULAS = ('=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)")


def read_rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def test_csv_formula_labels_are_neutralised(tmp_path):
    base = lab.circles(1, **{"data.n_train": 40, "data.n_test": 40, "train.batch_size": 20})
    variants = tuple(studies.Variant(label, (f"optim.lr={lr}",), None, "")
                     for label, lr in zip(FORMULAS, (0.01, 0.1, 1.0, 0.03)))
    runner = StudyRunner(studies.Study("formulas", "independent", base, variants, ""),
                         out=tmp_path)
    runner.run()
    table_file = runner.folder / "study.json"
    table = json.loads(table_file.read_text())
    # a rung that did worse than the one before: its change is negative, whatever training gave
    table["rungs"][1]["change"] = -0.5
    table_file.write_text(json.dumps(table))

    header, *rows = read_rows(export_csv.export_study(runner.folder, tmp_path / "s.csv")[0])
    assert [dict(zip(header, r))["label"] for r in rows] == ["'" + f for f in FORMULAS]
    for row, rung in zip(rows, table["rungs"]):
        for key, text in zip(header, row):
            value = rung[key]
            if isinstance(value, float) or type(value) is int:
                assert float(text) == value, (key, text)  # a number, not a quoted text
    assert float(dict(zip(header, rows[1]))["change"]) == -0.5


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@A1", "\tx", "\rx", "-0.5"])
def test_csv_text_that_starts_a_formula_gets_a_quote(text):
    assert export_csv.cell(text) == "'" + text


def test_csv_numbers_and_plain_text_are_unchanged():
    assert export_csv.cell(-0.5) == "-0.5" and export_csv.cell(-3) == "-3"
    assert export_csv.cell("lr 0.1") == "lr 0.1" and export_csv.cell("a = b") == "a = b"


def test_csv_formula_keys_of_a_study_json_are_neutralised(tmp_path):
    # study.json travels with the study folder: its keys are as untrusted as its labels
    (tmp_path / "study").mkdir()
    (tmp_path / "study" / "study.json").write_text(
        json.dumps({"rungs": [{"label": "a", "=cmd()": 1}]}))
    header, row = read_rows(export_csv.export_study(tmp_path / "study", tmp_path / "s.csv")[0])
    assert header == ["label", "'=cmd()"] and row == ["a", "1"]
