"""The lab report as one self-contained HTML file: the charts inline as SVG, the pictures
embedded as base64 PNG, the style in the page, so it opens anywhere and can be mailed alone."""

from __future__ import annotations

import base64
import time
from html import escape

from core.report.model import Answer, Figure, Report, Section, Table, Text

STYLE = """
body { font-family: "DejaVu Sans", Arial, sans-serif; max-width: 60em; margin: 2em auto;
       padding: 0 1em; color: #222; line-height: 1.4; }
h1 { font-size: 1.6em; margin-bottom: .2em; } h2 { border-bottom: 2px solid #ccc; margin-top: 2em; }
h3 { font-size: 1.05em; margin: 1.2em 0 .4em; }
table { border-collapse: collapse; margin: .4em 0 1em; font-size: .9em; }
th, td { border: 1px solid #ccc; padding: .2em .6em; text-align: left; vertical-align: top; }
th { background: #f2f2f2; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
table.facts th { width: 8em; }
figure { margin: 1em 0 1.6em; page-break-inside: avoid; }
figure svg, figure img { max-width: 100%; height: auto; border: 1px solid #ddd; }
figure img { image-rendering: pixelated; }
figcaption { font-size: .85em; color: #555; }
p.note { background: #fffbe6; border-left: 4px solid #e0c050; padding: .4em .8em;
         white-space: pre-wrap; }
div.answer { border: 1px solid #8ab; border-left: 6px solid #4a7fa0; background: #f4f9fc;
             padding: .4em .8em; margin: .4em 0 1em; white-space: pre-wrap; }
div.answer b { display: block; font-size: .8em; color: #4a7fa0; }
footer { margin-top: 3em; font-size: .8em; color: #777; }
"""


def _table(t: Table) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in t.header)
    body = "".join("<tr>" + "".join(f'<td{" class=n" if t.right(i) else ""}>{escape(c)}</td>'
                                    for i, c in enumerate(row)) + "</tr>" for row in t.rows)
    return (f'<h3 id="{escape(t.id)}">{escape(t.title)}</h3>'
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")


def _figure(f: Figure) -> str:
    if f.svg:
        picture = f.svg
    else:
        w, h = f.size
        data = base64.b64encode(f.png).decode("ascii")
        picture = (f'<img src="data:image/png;base64,{data}" width="{w}" height="{h}" '
                   f'alt="{escape(f.title)}">')
    note = f'<p class="note">{escape(f.note)}</p>' if f.note else ""
    caption = f"<figcaption>{escape(f.caption)}</figcaption>" if f.caption else ""
    return (f'<figure id="{escape(f.id)}"><h3>{escape(f.title)}</h3>{picture}{caption}{note}'
            "</figure>")


def _item(item) -> str:
    if isinstance(item, Table):
        return _table(item)
    if isinstance(item, Figure):
        return _figure(item)
    if isinstance(item, Text):
        return f"<p>{escape(item.text)}</p>"
    if isinstance(item, Answer):
        return f'<div class="answer"><b>Answer</b>{escape(item.text)}</div>'
    raise TypeError(f"a report holds tables, figures and texts, not {type(item).__name__}")


def _section(s: Section) -> str:
    return f"<section><h2>{escape(s.heading)}</h2>" + "".join(map(_item, s.items)) + "</section>"


def render(report: Report) -> str:
    """Return the report as the text of one HTML page."""
    facts = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in report.facts)
    made = time.strftime("%Y-%m-%d %H:%M")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{escape(report.title)}</title><style>{STYLE}</style></head><body>"
            f"<h1>{escape(report.title)}</h1><table class=\"facts\">{facts}</table>"
            + "".join(map(_section, report.sections))
            + f"<footer>Made by LearnScope on {made}.</footer></body></html>\n")
