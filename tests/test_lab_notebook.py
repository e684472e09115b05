"""A student's lab notebook: answers, figures and run links survive a restart; a damaged file
opens with a sentence, is kept aside, and nothing else is lost."""

from __future__ import annotations

import json

import pytest

from core.study.notebook import FILES, Notebook

PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 64  # the notebook stores the bytes it is given


def filled(root):
    book = Notebook.open("part1", "ada", root)
    book.set_answer(2, "More points: the boundary follows the ring, less overfitting.")
    book.set_answer(10, "Online is noisy; full batch is smooth but slow.")
    book.link_run(10, root / "runs" / "rung-01")
    book.add_figure(10, PNG, run=root / "runs" / "rung-01", epoch=3, view="curves",
                    caption="curves · circles-mlp · epoch 3/3")
    return book


def test_answers_figures_and_runs_are_found_after_a_restart(tmp_path):
    filled(tmp_path)
    again = Notebook.open("part1", "ada", tmp_path)
    assert again.problems == []
    assert again.answer(2).startswith("More points") and again.answer(10).startswith("Online")
    (figure,) = again.figures_of(10)
    assert (again.folder / figure.file).read_bytes() == PNG
    assert figure.epoch == 3 and figure.view == "curves" and figure.run.endswith("rung-01")
    assert again.runs_of(10) == [str(tmp_path / "runs" / "rung-01")]
    assert [again.status(n) for n in (2, 10, 11)] == ["answered", "answered", "not started"]
    assert again.folder == tmp_path / "ada" / "part1"  # one folder per student and sheet


def test_a_second_figure_does_not_replace_the_first(tmp_path):
    book = filled(tmp_path)
    book.add_figure(10, PNG + b"2", view="filters")
    files = [f.file for f in Notebook.open("part1", "ada", tmp_path).figures_of(10)]
    assert files == ["figures/q10-1.png", "figures/q10-2.png"]


@pytest.mark.parametrize("damaged", FILES)
@pytest.mark.parametrize("content", [b"{not json", b"[1, 2", b"\xff\xfe", b'"a string"'])
def test_a_damaged_file_is_kept_aside_with_a_sentence_and_nothing_else_is_lost(
        tmp_path, damaged, content):
    filled(tmp_path)
    folder = tmp_path / "ada" / "part1"
    (folder / damaged).write_bytes(content)
    book = Notebook.open("part1", "ada", tmp_path)
    (problem,) = book.problems
    assert damaged in problem and "could not be read" in problem and "kept as" in problem
    kept = [p for p in folder.iterdir() if p.name.startswith(damaged[:-5] + ".damaged-")]
    assert len(kept) == 1 and kept[0].read_bytes() == content  # the student's bytes, untouched
    # the other files open as they were
    assert (book.answer(2) != "") == (damaged != "answers.json")
    assert (len(book.figures_of(10)) == 1) == (damaged != "figures.json")
    assert (book.runs_of(10) != []) == (damaged != "runs.json")
    # writing again starts that file afresh and keeps the rest
    book.set_answer(11, "η too large diverges.")
    book.link_run(11, tmp_path / "runs" / "lr")
    again = Notebook.open("part1", "ada", tmp_path)
    assert again.problems == [] and again.answer(11) == "η too large diverges."


def test_a_name_that_is_not_a_folder_name_is_refused_with_a_sentence(tmp_path):
    from core import ConfigError
    with pytest.raises(ConfigError, match="sheet"):
        Notebook.open("../escape", "ada", tmp_path)
    book = Notebook.open("part1", "../../etc", tmp_path)  # a name becomes a safe slug
    assert tmp_path in book.folder.parents


def test_answers_are_written_whole(tmp_path):
    book = filled(tmp_path)
    text = (book.folder / "answers.json").read_text()
    assert json.loads(text)["answers"]["2"]["text"].startswith("More points")
    assert not [p for p in book.folder.iterdir() if p.name.endswith(".tmp")]
