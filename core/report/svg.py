"""The lab report's charts drawn as SVG text: curves per epoch, a bar per rung, a confusion matrix.

Written by hand rather than with a plotting library: a report must not need one, and the same
text is inlined in the HTML and drawn by Qt's SVG renderer into the PDF. So only what SVG Tiny
1.2 (Qt's renderer) draws is used: lines, polylines, rectangles and text, styled by attributes,
no CSS."""

from __future__ import annotations

import math
from dataclasses import dataclass
from xml.sax.saxutils import escape

import numpy as np

#: the splits' colours, as the window's plots draw them (train blue, val orange, test green)
COLOURS = {"train": "#1f77b4", "val": "#ff7f0e", "test": "#2ca02c"}
#: colours for many series (a study's rungs)
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf")
FONT = 'font-family="DejaVu Sans, Arial, sans-serif"'


@dataclass(frozen=True)
class Series:
    label: str
    colour: str
    x: tuple[float, ...]
    y: tuple[float, ...]


@dataclass(frozen=True)
class Panel:
    """One chart: its title, the y axis's name and the lines it draws (NaN values leave gaps)."""
    title: str
    y_label: str
    series: tuple[Series, ...]
    x_label: str = "epoch"


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Return round tick values covering [lo, hi] (1, 2 or 5 times a power of ten apart)."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        hi = lo + 1 if math.isfinite(lo) else 1.0
        lo = lo if math.isfinite(lo) else 0.0
    raw = (hi - lo) / max(count, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.floor(lo / step) * step
    ticks, t = [], first
    while t <= hi + step * 1e-9:
        ticks.append(round(t, 12))
        t += step
    if ticks[-1] < hi:
        ticks.append(round(t, 12))
    return ticks


def _number(v: float) -> str:
    return f"{v:g}" if abs(v) >= 1e-3 or v == 0 else f"{v:.1e}"


def _text(x: float, y: float, text: str, size: int = 11, anchor: str = "middle",
          fill: str = "#222", bold: bool = False) -> str:
    weight = ' font-weight="bold"' if bold else ""
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
            f'fill="{fill}"{weight} {FONT}>{escape(text)}</text>')


def _runs(xs, ys) -> list[list[tuple[float, float]]]:
    """Split a line into its runs of finite points (a NaN is a gap, never a drawn zero)."""
    out, run = [], []
    for x, y in zip(xs, ys):
        if math.isfinite(x) and math.isfinite(y):
            run.append((x, y))
        elif run:
            out.append(run)
            run = []
    return out + ([run] if run else [])


def _range(panel: Panel) -> tuple[float, float, float, float]:
    xs = [v for s in panel.series for v in s.x if math.isfinite(v)] or [0.0, 1.0]
    ys = [v for s in panel.series for v in s.y if math.isfinite(v)] or [0.0, 1.0]
    x0, x1 = min(xs), max(xs)
    return x0, (x1 if x1 > x0 else x0 + 1), min(ys), max(ys)


def _panel(panel: Panel, left: float, top: float, width: float, height: float) -> list[str]:
    """The SVG elements of one chart inside the box (left, top, width, height)."""
    # long: one chart's frame, ticks, lines and legend read best in drawing order
    pl, pr, pt, pb = 52, 12, 24, 34  # room for tick labels, title and the x axis's name
    x0, x1, y0, y1 = _range(panel)
    yt, xt = nice_ticks(y0, y1), nice_ticks(x0, x1, 6)
    ylo, yhi = yt[0], yt[-1]
    xlo, xhi = x0, x1
    w, h = width - pl - pr, height - pt - pb
    ox, oy = left + pl, top + pt

    def sx(v):
        return ox + (v - xlo) / (xhi - xlo) * w

    def sy(v):
        return oy + h - (v - ylo) / (yhi - ylo) * h
    out = [_text(left + width / 2, top + 15, panel.title, 13, bold=True),
           f'<rect x="{ox:.1f}" y="{oy:.1f}" width="{w:.1f}" height="{h:.1f}" fill="#ffffff" '
           'stroke="#888888" stroke-width="1"/>']
    for t in yt:
        y = sy(t)
        out.append(f'<line x1="{ox:.1f}" y1="{y:.1f}" x2="{ox + w:.1f}" y2="{y:.1f}" '
                   'stroke="#e4e4e4" stroke-width="1"/>')
        out.append(_text(ox - 5, y + 4, _number(t), 10, "end"))
    for t in (v for v in xt if xlo <= v <= xhi):
        out.append(_text(sx(t), oy + h + 14, _number(t), 10))
    out.append(_text(ox + w / 2, oy + h + 29, panel.x_label, 11))
    out.append(f'<text x="{left + 12:.1f}" y="{oy + h / 2:.1f}" font-size="11" '
               f'text-anchor="middle" fill="#222" transform="rotate(-90 {left + 12:.1f} '
               f'{oy + h / 2:.1f})" {FONT}>{escape(panel.y_label)}</text>')
    for s in panel.series:
        for run in _runs(s.x, s.y):
            if len(run) == 1:
                (px, py), = run
                out.append(f'<circle cx="{sx(px):.1f}" cy="{sy(py):.1f}" r="2.5" fill="{s.colour}"/>')
                continue
            pts = " ".join(f"{sx(px):.1f},{sy(py):.1f}" for px, py in run)
            out.append(f'<polyline points="{pts}" fill="none" stroke="{s.colour}" '
                       'stroke-width="2"/>')
    points = [(sx(px), sy(py)) for s in panel.series for run in _runs(s.x, s.y) for px, py in run]
    out += _legend(panel.series, (ox, oy, w, h), points)
    return out


def _legend(series, frame, points) -> list[str]:
    """The legend in the corner of the frame that hides the fewest points of the lines."""
    ox, oy, w, h = frame
    lw, lh = 100, 14 * len(series) + 6
    corners = [(ox + w - lw, oy), (ox + w - lw, oy + h - lh), (ox, oy), (ox, oy + h - lh)]

    def hidden(corner):
        x, y = corner
        return sum(x <= px <= x + lw and y <= py <= y + lh for px, py in points)
    lx, ly = min(corners, key=hidden)  # the first of equals: top right
    out = [f'<rect x="{lx + 4:.1f}" y="{ly + 2:.1f}" width="{lw - 8}" height="{lh - 2}" '
           'fill="#ffffff" fill-opacity="0.85"/>']
    for i, s in enumerate(series):
        y = ly + 14 + 14 * i
        out.append(f'<line x1="{lx + 10:.1f}" y1="{y - 4:.1f}" x2="{lx + 28:.1f}" '
                   f'y2="{y - 4:.1f}" stroke="{s.colour}" stroke-width="2"/>')
        out.append(_text(lx + 32, y, s.label[:14], 10, "start"))
    return out


def _svg(width: float, height: float, body: list[str]) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" version="1.2" baseProfile="tiny" '
            f'width="{width:.0f}" height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}">'
            f'<rect x="0" y="0" width="{width:.0f}" height="{height:.0f}" fill="#ffffff"/>'
            + "".join(body) + "</svg>")


def charts(panels: list[Panel], width: int = 760, height: int = 300) -> str:
    """Return the panels side by side as one SVG drawing."""
    each = width / max(1, len(panels))
    body = [e for i, p in enumerate(panels) for e in _panel(p, i * each, 0, each, height)]
    return _svg(width, height, body)


def bars(labels: list[str], values: list[float | None], title: str = "", unit: str = "%",
         top: float = 100.0, width: int = 760) -> str:
    """Return a horizontal bar per label (value None: no bar, "no result" written instead);
    title "" leaves it to the page (the report heads each figure)."""
    row, head = 26, 30 if title else 10
    label_w = min(300, 40 + 7 * max((len(s) for s in labels), default=4))
    height = head + row * len(labels) + 26
    x0, w = label_w, width - label_w - 70
    body = [_text(width / 2, 18, title, 13, bold=True)] if title else []
    for t in nice_ticks(0, top, 5):
        x = x0 + t / top * w
        bottom = head + row * len(labels)
        body.append(f'<line x1="{x:.1f}" y1="{head:.1f}" x2="{x:.1f}" y2="{bottom:.1f}" '
                    'stroke="#e4e4e4" stroke-width="1"/>')
        body.append(_text(x, head + row * len(labels) + 16, f"{_number(t)}{unit}", 10))
    for i, (label, v) in enumerate(zip(labels, values)):
        y = head + i * row
        body.append(_text(x0 - 8, y + row / 2 + 4, label, 11, "end"))
        if v is None or not math.isfinite(v):
            body.append(_text(x0 + 4, y + row / 2 + 4, "no result", 10, "start", "#888"))
            continue
        bw = max(0.0, min(v, top)) / top * w
        colour = PALETTE[i % len(PALETTE)]
        body.append(f'<rect x="{x0:.1f}" y="{y + 4:.1f}" width="{bw:.1f}" height="{row - 8:.1f}" '
                    f'fill="{colour}"/>')
        body.append(_text(x0 + bw + 5, y + row / 2 + 4, f"{v:.1f}{unit}", 10, "start"))
    return _svg(width, height, body)


def confusion(counts: np.ndarray, classes: list[str], title: str = "") -> str:
    """Return counts[true, predicted] as a grid of cells shaded by each true class's share
    (blue on the diagonal, red off it); title "" leaves it to the page."""
    k = len(classes)
    cell = max(22, min(48, 440 // max(k, 1)))
    label_w = 16 + 7 * max((len(c) for c in classes), default=3)
    # the predicted classes' names run slanted above their columns
    slant = 6 * max((len(c) for c in classes), default=3)
    left, top = label_w + 24, (30 if title else 10) + 22 + slant
    width, height = left + cell * k + 20 + slant, top + cell * k + 20
    body = [_text(width / 2, 18, title, 13, bold=True)] if title else []
    body += [_text(left + cell * k / 2, top - slant - 14, "predicted class", 11),
            f'<text x="12" y="{top + cell * k / 2:.1f}" font-size="11" text-anchor="middle" '
            f'fill="#222" transform="rotate(-90 12 {top + cell * k / 2:.1f})" {FONT}>true class</text>']
    rows = counts.sum(1)
    for j, name in enumerate(classes):
        x, y = left + (j + 0.5) * cell, top - 6
        body.append(f'<text x="{x:.1f}" y="{y:.1f}" font-size="9" text-anchor="start" '
                    f'fill="#222" transform="rotate(-45 {x:.1f} {y:.1f})" {FONT}>'
                    f'{escape(name)}</text>')
    for i, name in enumerate(classes):
        body.append(_text(left - 6, top + (i + 0.5) * cell + 4, name, 10, "end"))
        for j in range(k):
            share = counts[i, j] / rows[i] if rows[i] else 0.0
            shade = round(255 * (1 - 0.85 * share))
            fill = f"#{shade:02x}{shade:02x}ff" if i == j else f"#ff{shade:02x}{shade:02x}"
            x, y = left + j * cell, top + i * cell
            body.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{cell}" height="{cell}" '
                        f'fill="{fill}" stroke="#ffffff" stroke-width="1"/>')
            colour = "#ffffff" if share > 0.6 else "#222"
            body.append(_text(x + cell / 2, y + cell / 2 + 4, str(int(counts[i, j])), 10,
                              fill=colour))
    return _svg(width, height, body)


def size_of(svg: str) -> tuple[int, int]:
    """Return (width, height) written in an SVG drawing made here."""
    head = svg[:300]

    def value(name: str) -> int:
        start = head.index(f' {name}="') + len(name) + 3
        return int(float(head[start:head.index('"', start)]))
    return value("width"), value("height")
