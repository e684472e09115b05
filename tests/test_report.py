"""The lab report's core (no Qt): the HTML of a run and of a study read back against the run's
own files, the SVG charts and the PNG encoder checked against what they draw, the notes kept
in notes.json, and the sentences of the errors."""

from __future__ import annotations

import base64
import json
import re
import shutil
import struct
import zlib
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

import lab
from core.nets import inspect as ins
from core.nets import models
from core import report
from core.report import png as report_png
from core.report import svg as report_svg
from core import study as studies
from core.data import registry as datasets
from core import ExportError
from core.store.reader import load_weights, open_run
from core.store.runs import RunWriter
from core.study.runner import StudyRunner
from core.engine.train import Trainer
from core.store.writers import recorded


@pytest.fixture(scope="module")
def shapes_run(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("runs")
    return Path(recorded(Trainer(lab.tiny_shapes(epochs=2)), root).fit().run_folder)


@pytest.fixture(scope="module")
def circles_run(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("runs")
    return Path(recorded(Trainer(lab.circles(epochs=3)), root).fit().run_folder)


class Page(HTMLParser):
    """The parts of an HTML report a test reads: headings, table cells (and rows), figures,
    images."""

    def __init__(self, text: str):
        super().__init__()
        self.headings, self.cells, self.figures, self.images, self.polylines = [], [], [], [], 0
        self.rows: list[list[str]] = []
        self._in = None
        self.feed(text)

    def row(self, first: str) -> list[str]:
        """The table row whose first cell is `first`."""
        (found,) = [r for r in self.rows if r and r[0] == first]
        return found

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tr":
            self.rows.append([])
        if tag in ("td", "th"):
            self.rows[-1].append("")
        if tag in ("h1", "h2", "h3", "td", "th"):
            self._in = tag
        elif tag == "figure":
            self.figures.append(a["id"])
        elif tag == "img":
            self.images.append(a["src"])
        elif tag == "polyline":
            self.polylines += 1

    def handle_endtag(self, tag):
        if tag == self._in:
            self._in = None

    def handle_data(self, data):
        if self._in in ("h1", "h2", "h3"):
            self.headings.append(data)
        elif self._in in ("td", "th"):
            self.cells.append(data)
            self.rows[-1][-1] += data


def html_of(folder: Path, tmp_path: Path, **kw) -> tuple[str, Page]:
    out = report.write_html(folder, tmp_path / "report.html", **kw)
    text = out.read_text(encoding="utf-8")
    return text, Page(text)


def png_pixels(png: bytes) -> np.ndarray:
    """Decode a PNG of report_png.encode_png (8-bit, filter 0 on every row)."""
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    w, h, depth, colour = struct.unpack(">IIBB", png[16:26])
    idat = b"".join(png[i + 8:i + 8 + struct.unpack(">I", png[i:i + 4])[0]]
                    for i in [m.start() - 4 for m in re.finditer(b"IDAT", png)])
    rows = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(h, -1)
    assert depth == 8 and (rows[:, 0] == 0).all()
    return rows[:, 1:].reshape(h, w, 3) if colour == 2 else rows[:, 1:]


def test_a_run_report_has_its_settings_layers_curves_and_metrics(shapes_run, tmp_path):
    run = open_run(shapes_run)
    exp, records = run.experiment, run.metrics()
    text, page = html_of(shapes_run, tmp_path)
    for heading in ("Settings", "Network", "Training", "What the network learned"):
        assert heading in page.headings
    # a table per config section, with each setting's key and value
    assert {"Data", "Model", "Optimisation", "Training"} <= set(page.headings)
    assert page.row("Train size N") == ["Train size N", str(exp.data.n_train), "data.n_train"]
    # the layer table: the rows models.layer_table computes (what `train --layers` prints)
    shape, classes = datasets.input_shape(exp.data)
    table = text[text.index('<h3 id="layers"'):]
    layers = Page(table[:table.index("</table>")])
    assert layers.rows[0] == ["layer", "output", "weights", "biases", "RF", "jump", "start"]
    expected = models.layer_table(exp.model, shape, classes)
    assert [r[0] for r in layers.rows[1:]] == [t.name for t in expected] + ["total"]
    for t, row in zip(expected, layers.rows[1:]):
        assert row[1:5] == ["×".join(map(str, t.out_shape)), f"{t.weights:,}", f"{t.biases:,}",
                            "" if t.rf is None else str(t.rf)]
    assert report.title("layers", "cnn") in page.headings
    # the curves: loss and accuracy, one line per split, one point per epoch
    assert "curves" in page.figures and page.polylines == 4
    curves = text[text.index('<figure id="curves"'):]
    first = re.search(r'<polyline points="([^"]+)"', curves).group(1)
    assert len(first.split()) == len(records)
    # the metrics of the last epoch, as metrics.jsonl has them
    last = records[-1]
    assert page.row("test")[1:3] == [f"{last.test.loss:.4f}", f"{last.test.accuracy:.2f} %"]


def test_the_filters_picture_is_the_first_convs_kernels_from_the_saved_weights(shapes_run):
    built = report.build(shapes_run)
    (fig,) = [f for f in built.figures() if f.id == "filters"]
    assert fig.title == report.title("filters", "cnn") and fig.title.startswith("Question 2")
    weight = load_weights(shapes_run)["conv1.weight"]
    expected = report_png.enlarge(ins.filter_mosaic(weight, rgb=True))
    got = png_pixels(fig.png)
    assert got.shape == expected.shape and got.shape[1] >= 0.5 * report_png.FILTERS_WIDTH
    assert np.abs(got.astype(int) - np.round(expected * 255)).max() <= 1


def test_a_strip_of_kept_epochs_shows_how_the_boundary_formed(circles_run, tmp_path):
    from core.report import replay
    built = report.build(circles_run)
    (fig,) = [f for f in built.figures() if f.id == "replay"]
    assert fig.title == report.title("replay", "mlp") and "epochs 0, 1, 2, 3" in fig.caption
    frames = replay.frames(circles_run, "decision-boundary", [0, 1, 2, 3])
    assert np.array_equal(png_pixels(fig.png), replay.strip(frames))  # the timeline's pictures
    older = tmp_path / "older"
    shutil.copytree(circles_run, older)
    shutil.rmtree(older / "snapshots")  # a run from before snapshots were kept: no strip
    assert [f.id for f in report.build(older).figures()].count("replay") == 0


def test_the_confusion_matrix_is_the_last_epochs_from_the_saved_weights(circles_run):
    built = report.build(circles_run)
    (fig,) = [f for f in built.figures() if f.id == "confusion"]
    last = open_run(circles_run).metrics()[-1]
    n = open_run(circles_run).experiment.data.n_test
    right = round(last.test.accuracy * n / 100)  # what the trainer measured at that epoch's end
    assert f"{right} of {n} right" in fig.caption
    cells = [int(v) for v in re.findall(r">(\d+)</text>", fig.svg)]
    assert sum(cells) == n and len(cells) == 4  # 2 classes: a 2×2 grid of counts


def test_the_windows_figures_join_the_report_with_their_question_titles(circles_run, tmp_path):
    picture = report_png.encode_png(np.zeros((20, 30, 3), np.uint8))
    other = report_png.encode_png(np.full((8, 8), 200, np.uint8))
    figures = [("decision-boundary", report.title("decision-boundary", "mlp"), picture),
               ("confusion", report.title("confusion", "mlp"), other)]
    text, page = html_of(circles_run, tmp_path, figures=figures)
    for fig_id, title, png in figures:
        assert fig_id in page.figures and title in page.headings
        assert f"data:image/png;base64,{base64.b64encode(png).decode()}" in page.images
    assert page.figures.count("confusion") == 1  # the window's took the place of the core's
    with pytest.raises(ExportError, match="not a PNG picture"):
        report.build(circles_run, figures=[("filters", "Filters", b"GIF89a")])


def test_notes_are_kept_in_notes_json_and_come_back(circles_run, tmp_path):
    report.write_html(circles_run, tmp_path / "a.html", notes={"curves": "test < train & falls"})
    assert json.loads((circles_run / "notes.json").read_text()) == {"curves": "test < train & falls"}
    text, _page = html_of(circles_run, tmp_path)  # no notes given: the kept ones
    assert '<p class="note">test &lt; train &amp; falls</p>' in text
    report.write_html(circles_run, tmp_path / "b.html", notes={"confusion": "class 1 wins"})
    assert report.read_notes(circles_run) == {"curves": "test < train & falls",
                                              "confusion": "class 1 wins"}
    report.write_html(circles_run, tmp_path / "c.html", notes={"curves": ""})  # empty: removed
    assert report.read_notes(circles_run) == {"confusion": "class 1 wins"}
    (circles_run / "notes.json").write_text("[not, json")
    assert report.read_notes(circles_run) == {} and report.build(circles_run).figures()
    (circles_run / "notes.json").unlink()  # the module's other tests see the run without notes


def test_a_study_report_has_its_rung_table_and_bar_chart(tmp_path):
    base = lab.circles(epochs=4)
    study = studies.Study("tiny ladder", "cumulative", base, (
        studies.Variant("baseline"),
        studies.Variant("+ momentum", ("optim.momentum=0.9",), question=26)))
    StudyRunner(study, out=tmp_path / "studies").run()
    folder = tmp_path / "studies" / "tiny-ladder"
    table = json.loads((folder / "study.json").read_text())
    text, page = html_of(folder, tmp_path)
    assert "The study's rungs, each change on top of the previous ones" in page.headings
    assert page.row("#")[:6] == ["#", "rung", "Q", "status", "train acc.", "test acc."]
    for row in table["rungs"]:
        cells = page.row(str(row["index"]))
        assert cells[3] == row["status"] + (" (stalled)" if row["stalled"] else "")
        assert cells[1:3] + cells[4:6] == [
            row["label"], "" if row["question"] is None else f"Q{row['question']}",
            f"{row['train_accuracy']:.2f} %", f"{row['test_accuracy']:.2f} %"]
    bars = text[text.index('<figure id="study-bars"'):]
    assert "Question 26 — test accuracy after each rung" in page.headings
    widths = [float(w) for w in re.findall(r'<rect x="[^"]+" y="[^"]+" width="([^"]+)" '
                                           r'height="18.0"', bars)]
    accs = [r["test_accuracy"] for r in table["rungs"]]
    assert len(widths) == 2 and widths[0] / widths[1] == pytest.approx(accs[0] / accs[1], rel=0.02)
    assert "study-curves" in page.figures
    assert [f for f, _t in report.outline(folder)] == ["study-bars", "study-curves"]


def test_the_svg_axes_have_round_ticks_and_nan_leaves_a_gap():
    assert report_svg.nice_ticks(0.13, 0.91) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    s = report_svg.Series("test", "#000", (1.0, 2.0, 3.0, 4.0, 5.0), (1.0, 2.0, float("nan"), 3.0, 4.0))
    drawing = report_svg.charts([report_svg.Panel("Loss", "loss", (s,))])
    assert drawing.count("<polyline") == 2 and "nan" not in drawing.lower()
    assert report_svg.size_of(drawing) == (760, 300)


def test_errors_are_sentences(tmp_path, circles_run):
    with pytest.raises(ExportError, match="not a run folder or a study folder: it holds neither"):
        report.write_html(tmp_path, tmp_path / "r.html")
    with pytest.raises(ExportError, match="does not exist"):
        report.write_html(tmp_path / "gone", tmp_path / "r.html")
    empty = RunWriter(lab.circles(epochs=1), folder=tmp_path / "empty")
    empty.finish("stopped")
    with pytest.raises(ExportError, match="has no finished epoch .* train it for at least one epoch"):
        report.write_html(tmp_path / "empty", tmp_path / "r.html")
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(ExportError, match="Could not write the report to .* choose a folder"):
        report.write_html(circles_run, blocker / "r.html")
    with pytest.raises(ExportError, match="is a folder"):
        report.write_html(circles_run, tmp_path)
    assert not list(tmp_path.glob("**/*.html"))
