"""Small facts about an experiment the GUI needs without loading data or touching torch state."""

from __future__ import annotations

from core.experiment import config as cfg
from core.data import registry


def input_shape(exp: cfg.Experiment) -> tuple[tuple[int, ...], int]:
    """Return (input shape, number of classes) the experiment's network will see, without loading data."""
    return registry.input_shape(exp.data)


def devices() -> list[tuple[str, str]]:
    """Return (label, train.device value) for every device this machine offers, 'auto' first."""
    import torch
    out = [("auto (GPU when there is one)", "auto")]
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            out.append((f"cuda:{i} — {torch.cuda.get_device_name(i)}", f"cuda:{i}"))
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        out.append(("mps — Apple GPU", "mps"))
    out.append(("cpu", "cpu"))
    return out


def summary(exp: cfg.Experiment) -> str:
    """Return a one-line description of the key settings (runs list, window title)."""
    m, o, t = exp.model, exp.optim, exp.train
    if m.kind == "mlp":
        # how it steps: the four implementations train alike, and only this tells them apart
        arch = "MLP " + "→".join(str(w) for w in m.hidden) + f" ({m.implementation})"
    else:
        arch = f"CNN {len(m.blocks)} conv" + (f" + fc {','.join(map(str, m.fc))}" if m.fc else "")
    extras = [x for x, on in (("BN", m.batch_norm), (f"dropout {m.dropout:g}", m.dropout > 0),
                               (f"mom {o.momentum:g}", o.momentum > 0),
                               (o.scheduler, o.scheduler != "none"),
                               (exp.data.standardize, exp.data.standardize != "none"),
                               ("aug", exp.data.crop or exp.data.flip)) if on]
    loss = {"cross_entropy": "cross-entropy", "mse": "squared error"}.get(o.loss, o.loss)
    return " · ".join([exp.data.dataset, arch, loss, f"{o.optimizer} lr {o.lr:g}",
                       f"batch {t.batch_size}"] + extras)
