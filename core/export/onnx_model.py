"""ONNX of a trained run's network, to open in Netron or to run outside LearnScope.

The run's saved weights go into the network its config describes (core.store.restore), which is
exported in eval mode (dropout off, batch norm on its running statistics) with torch.onnx's
torch.export-based exporter (it needs the optional packages onnx and onnxscript). The graph
takes what the network sees, the standardised input, with any batch size; how to get there
from pixels or points is written in the model's metadata (metadata_props): the input shape,
the standardisation with its per-channel mean and std (a ZCA matrix goes beside the file as
`<name>.zca.npy`), the class names and LearnScope's version.
"""

from __future__ import annotations

import io
import json
from importlib import metadata
from pathlib import Path

import numpy as np
import torch

from core import files
from core.engine import manual
from core.store import restore, reader as run_reader
from core.files.atomic import atomic_write_bytes
from core import ExportError, LearnScopeError

INSTALL = "pip install 'learnscope[onnx]'"


def _onnx():
    """Return the onnx module; ExportError when onnx or onnxscript is not installed."""
    try:
        import onnx
        import onnxscript  # noqa: F401  (torch.onnx's exporter writes the graph with it)
    except ImportError as e:
        raise ExportError(f"Exporting to ONNX needs the packages onnx and onnxscript ({e.name} "
                          f"is not installed here); install them with {INSTALL}") from None
    return onnx


def version() -> str:
    """LearnScope's installed version ('unknown' when run from a folder that is not installed)."""
    try:
        return metadata.version("learnscope")
    except metadata.PackageNotFoundError:
        return "unknown"


def _restored(folder: Path) -> restore.RestoredRun:
    """The run's trained network and data on the CPU; ExportError says why not."""
    if files.kind_of(folder) != files.RUN:
        raise ExportError(f"{folder} is not a run folder (it has no config.toml); give a folder "
                          "from the runs list.")
    run = run_reader.open_run(folder)
    if not (folder / "weights.pt").is_file():
        raise ExportError(f"The run {run.name} has no saved weights (weights.pt), so there is no "
                          "trained network to export; train it for at least one epoch.")
    try:
        return restore.restore(run, device="cpu")
    except LearnScopeError as e:  # damaged weights, data that cannot be loaded again
        raise ExportError(f"Cannot export the run {run.name}: {e}") from None


def _check_manual(r: restore.RestoredRun) -> None:
    """The hand-written MLP (Part 1) reads and updates the network's own weights, so its
    torch.nn forward is the same function: exported as such, once its layers are known."""
    if r.exp.model.implementation == "optim":
        return
    try:
        manual.layers(r.model)
    except ValueError as e:
        raise ExportError(f"The run {r.name}'s hand-written network has no torch.nn equivalent "
                          f"to export ({e}).") from None


def _properties(r: restore.RestoredRun, zca_file: Path | None) -> dict[str, str]:
    """The metadata_props: what a user of the file needs to feed it and read its output."""
    data, d = r.data, r.exp.data
    shape = tuple(data.input_shape)
    images = data.is_images
    layout = "N×C×H×W" if images else f"N×{shape[0]}"
    props = {
        "learnscope_version": version(),
        "input_shape": ",".join(map(str, shape)),
        "input_layout": layout,
        "input": (f"{layout} {r.exp.train.dtype}: pixels divided by 255 (to [0, 1]), then "
                  "standardised as 'standardisation' says" if images else
                  f"{layout} {r.exp.train.dtype}: the 2D points, standardised as "
                  "'standardisation' says") + (f"; test images centre-cropped to {d.crop}×{d.crop}"
                                                if images and d.crop else ""),
        "output": f"N×{len(data.classes)} logits (softmax gives the class probabilities)",
        "class_names": json.dumps(list(data.classes)),
        "standardisation": d.standardize,
        "dataset": d.dataset,
        "experiment": r.exp.name,
        "run": r.folder.name,
        "epochs": str(r.epochs),
    }
    if d.standardize in ("channel", "zca"):  # x ← (x − mean) / std per channel, training split's
        props["mean"] = json.dumps([round(float(v), 8) for v in data.mean])
        props["std"] = json.dumps([round(float(v), 8) for v in data.std])
    if zca_file is not None:
        props["zca_matrix"] = zca_file.name
        props["zca_note"] = ("after the per-channel standardisation, the flattened input is "
                             f"multiplied by the D×D matrix in {zca_file.name} (numpy .npy, "
                             "x ← x·W, W symmetric)")
    return props


def _export(r: restore.RestoredRun):
    """Return the ONNX ModelProto of r's network in eval mode, for any batch size."""
    model = r.model.eval()
    x = r.data.prepare(r.data.train.x[:4], train=False)  # an example batch: only its shape counts
    try:
        program = torch.onnx.export(model, (x,), dynamo=True, verbose=False,
                                    input_names=["input"], output_names=["logits"],
                                    dynamic_shapes=({0: torch.export.Dim("batch")},))
    except Exception as e:  # torch.export refusing the graph: say so, never a traceback
        raise ExportError(f"torch.onnx could not export the run {r.name}'s network "
                          f"({type(e).__name__}: {str(e)[:300]}).") from None
    return program.model_proto


def export_run(run_folder: Path | str, out_file: Path | str) -> Path:
    """Write a trained run's network as an ONNX file (and, for ZCA, its matrix beside it as
    `<name>.zca.npy`); return the file. ExportError says why not: onnx not installed, a run
    without weights, a folder that cannot be written."""
    folder, out = Path(run_folder), Path(out_file).expanduser()
    files.refuse_own_input(folder, out, "the ONNX file")
    files.refuse_own_input(folder, out.with_suffix(".zca.npy"), "the ZCA matrix")
    onnx = _onnx()
    try:
        out.parent.mkdir(parents=True, exist_ok=True)  # before the slow part: fail fast
    except OSError as e:
        raise ExportError(f"Cannot write {out} ({e.strerror or e}); choose a folder you can "
                          "write to.") from None
    r = _restored(folder)
    _check_manual(r)
    proto = _export(r)
    zca_file = out.with_suffix(".zca.npy") if r.data.zca is not None else None
    onnx.helper.set_model_props(proto, _properties(r, zca_file))
    try:
        if zca_file is not None:
            buf = io.BytesIO()
            np.save(buf, r.data.zca.cpu().numpy())
            atomic_write_bytes(zca_file, buf.getvalue())
        atomic_write_bytes(out, proto.SerializeToString())
    except OSError as e:
        raise ExportError(f"Cannot write {out} ({e.strerror or e}); choose a folder you can "
                          "write to.") from None
    return out
