"""The Equations view: the MLP's forward and backward passes, with the experiment's shapes filled in."""

from __future__ import annotations

import math
import re

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from app.experiment import input_shape
from core.experiment import config as cfg
from core.data import registry

IMPL = {"optim": "torch.nn layers + torch.optim.SGD", "nn": "torch.nn layers, W ← W − η∇W written out",
        "autograd": "the forward below by hand, gradients from loss.backward()",
        "manual": "the forward and backward below, by hand (no autograd)"}
# each of core.nets.models.ACTIVATIONS written out: h = σ(h̃), and σ' from h (tests check they match)
FORMULAS = {"tanh": ("tanh h̃", "(1 − h²)"), "sigmoid": ("σ(h̃)", "h ⊙ (1 − h)"),
            "relu": ("max(0, h̃)", "𝟙[h̃ > 0]")}
STYLE = ("<style>td { padding: 1px 10px 1px 0; } .eq { font-family: 'DejaVu Serif', serif; "
         "font-size: 12.5pt; } .note { color: #57606a; } .shape { color: #1565c0; }</style>")


def batch_and_sizes(exp: cfg.Experiment) -> tuple[int, int, list[int], int]:
    """Return (B, n_x, hidden widths, n_y): B is the batch size, capped at the training-set size."""
    d = exp.data
    shape, n_y = input_shape(exp)
    n = d.n_train or (registry.get(d.dataset).sizes[0] if exp.is_points else 0)
    n = round(n * (1 - d.val_fraction)) if n else 0
    b = min(exp.train.batch_size, n) if n else exp.train.batch_size
    return max(1, b), math.prod(shape), list(exp.model.hidden), n_y


def _sub(text: str) -> str:
    """'W_h' → W<sub>h</sub> (rich text)."""
    return re.sub(r"_(\w+)", r"<sub>\1</sub>", text)


def shapes(exp: cfg.Experiment) -> list[tuple[str, str, str]]:
    """Return (symbol, rows×cols, meaning) for every quantity of the passes, e.g. ('W_h', '10×2', …)."""
    b, n_x, hidden, n_y = batch_and_sizes(exp)
    rows = [("x", f"{b}×{n_x}", "B×n_x")]
    prev, prev_name = n_x, "n_x"
    for i, width in enumerate(hidden, 1):
        k = "h" if len(hidden) == 1 else str(i)
        h = "h" if len(hidden) == 1 else f"h_{i}"
        rows += [(f"W_{k}", f"{width}×{prev}", f"n_{k}×{prev_name}"), (f"b_{k}", f"{width}", f"n_{k}"),
                 (f"h̃_{k}, {h}" if len(hidden) > 1 else "h̃, h", f"{b}×{width}", f"B×n_{k}")]
        prev, prev_name = width, f"n_{k}"
    rows += [("W_y", f"{n_y}×{prev}", f"n_y×{prev_name}"), ("b_y", f"{n_y}", "n_y"),
             ("ỹ, ŷ, y", f"{b}×{n_y}", "B×n_y")]
    return rows


def html(exp: cfg.Experiment) -> str:
    """Return the rich text of the passes for exp (or one sentence for a CNN)."""
    m, o = exp.model, exp.optim
    impl = ""
    if m.kind != "mlp":
        return (STYLE + impl + "<p>The hand-written forward and backward passes cover MLPs (Part 1); "
                "this experiment is a CNN.</p>")
    b, n_x, hidden, n_y = batch_and_sizes(exp)
    act, dact = FORMULAS[m.activation]
    fwd = ["h̃ = x W<sub>h</sub><sup>T</sup> + b<sub>h</sub>", f"h = {act}",
           "ỹ = h W<sub>y</sub><sup>T</sup> + b<sub>y</sub>", "ŷ = softmax ỹ"]
    if o.loss == "mse":
        first = "∇ỹ = ŷ ⊙ (g − (g·ŷ)),  g = 2(ŷ − y)"
        loss = "squared error Σ(ŷ − y)²"
    else:
        first, loss = "∇ỹ = ŷ − y", "cross-entropy −Σ y log ŷ"
    if o.reduction == "mean":
        first += "  (÷ B: reduction 'mean')"
    bwd = [first, "∇W<sub>y</sub> = ∇ỹ<sup>T</sup> h", "∇b<sub>y</sub> = Σ<sub>batch</sub> ∇ỹ",
           f"∇h̃ = {dact} ⊙ (∇ỹ W<sub>y</sub>)", "∇W<sub>h</sub> = ∇h̃<sup>T</sup> x",
           "∇b<sub>h</sub> = Σ<sub>batch</sub> ∇h̃"]
    note = ""
    if len(hidden) > 1:
        note = (f"<p class='note'>{len(hidden)} hidden layers: the formulas hold layer by layer — "
                "x is the previous layer's output h, and ∇h̃ of a layer comes from the next layer's "
                "∇h̃ and W in place of ∇ỹ and W<sub>y</sub>. Shapes of every layer below.</p>")
    elif not hidden:
        note = "<p class='note'>No hidden layer: ỹ = x W<sub>y</sub><sup>T</sup> + b<sub>y</sub>.</p>"
    extra = []
    if m.batch_norm or m.dropout:
        extra.append("batch norm / dropout are not in these formulas (nor in the hand-written backward)")
    cells = [f"<td>{_sub(s)}:</td><td class='shape'><b>{v}</b></td><td class='note'>{_sub(w)}</td>"
             for s, v, w in shapes(exp)]
    table = "".join(f"<tr>{c}</tr>" for c in cells)  # one a row: narrow enough for a ~300 px dock
    return (STYLE
            + f"<p class='note'>Loss: {loss}, B = {b}, n<sub>x</sub> = {n_x}, "
            + (f"n<sub>h</sub> = {hidden[0]}, " if len(hidden) == 1 else "")
            + f"n<sub>y</sub> = {n_y}{'; ' + extra[0] if extra else ''}.</p>"
            + "<table class='eq'><tr><td valign='top'><b>Forward</b><br>" + "<br>".join(fwd)
            + "</td><td width='24'></td><td valign='top'><b>Backward</b><br>" + "<br>".join(bwd)
            + "</td></tr></table>" + note + f"<table>{table}</table>")


class EquationsView(QLabel):
    """Rich text of the passes; show_experiment(exp) refreshes it."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("equations")
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setWordWrap(True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.plain: list[str] = []

    def show_experiment(self, exp: cfg.Experiment) -> None:
        self.setText(html(exp))
        self.plain = ([f"{s}: {v}" for s, v, _ in shapes(exp)] if exp.model.kind == "mlp" else [])

    def shape_text(self) -> str:
        """Return the shapes as plain lines, e.g. 'W_h: 10×2'."""
        return "\n".join(self.plain)
