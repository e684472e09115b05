"""ONNX export of a trained run: onnx.checker accepts it, onnx's reference evaluator gives
torch's logits, the metadata says how to feed it; each failure is a sentence."""

import json
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from onnx.reference import ReferenceEvaluator

import lab
from core.store import restore, reader as run_reader
from core.export import onnx_model as export_onnx
from core import ExportError
from core.engine.train import Trainer
from core.store.writers import recorded


def _train(exp, tmp_path) -> Path:
    result = recorded(Trainer(exp), tmp_path / "runs").fit()
    assert result.status == "done", result.message
    return Path(result.run_folder)


def _check_logits(run: Path, model_file: Path) -> tuple[onnx.ModelProto, restore.RestoredRun]:
    """The file against the run's own network on 16 test examples; return the model and run."""
    model = onnx.load(str(model_file))
    onnx.checker.check_model(model, full_check=True)
    r = restore.restore(run_reader.open_run(run), device="cpu")
    x = r.data.prepare(r.data.test.x[:16], train=False)
    with torch.no_grad():
        want = r.model.eval()(x).numpy()
    [got] = ReferenceEvaluator(model).run(None, {"input": x.numpy()})
    assert got.shape == want.shape == (16, len(r.data.classes))
    np.testing.assert_allclose(got, want, atol=1e-4, rtol=0)
    return model, r


def _props(model: onnx.ModelProto) -> dict[str, str]:
    return {p.key: p.value for p in model.metadata_props}


def test_an_mlp_run_exports_with_its_logits_and_metadata(tmp_path):
    run = _train(lab.circles(1, **{"data.standardize": '"channel"'}), tmp_path)
    out = export_onnx.export_run(run, tmp_path / "out" / "circles.onnx")
    assert out == tmp_path / "out" / "circles.onnx"
    model, r = _check_logits(run, out)
    props = _props(model)
    assert props["input_shape"] == "2" and props["input_layout"] == "N×2"
    assert props["standardisation"] == "channel"
    assert json.loads(props["mean"]) == pytest.approx(r.data.mean.tolist(), abs=1e-7)
    assert json.loads(props["std"]) == pytest.approx(r.data.std.tolist(), abs=1e-7)
    assert json.loads(props["class_names"]) == list(r.data.classes)
    assert props["learnscope_version"] == export_onnx.version() != ""


def test_a_cnn_with_batch_norm_and_dropout_exports_in_eval_mode(tmp_path):
    exp = lab.tiny_shapes(1)
    exp.model.batch_norm, exp.model.dropout = True, 0.5
    run = _train(exp, tmp_path)
    model, r = _check_logits(run, export_onnx.export_run(run, tmp_path / "shapes.onnx"))
    ops = {n.op_type for n in model.graph.node}
    assert "Dropout" not in ops  # eval mode: no random masks in the graph
    props = _props(model)
    assert props["input_shape"] == ",".join(map(str, r.data.input_shape))
    assert props["input_layout"] == "N×C×H×W" and props["standardisation"] == "channel"
    assert len(json.loads(props["mean"])) == len(json.loads(props["std"])) == r.data.input_shape[0]
    assert len(json.loads(props["class_names"])) == 10
    dims = model.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param and [d.dim_value for d in dims[1:]] == list(r.data.input_shape)


def test_zca_writes_its_matrix_beside_the_model(tmp_path):
    exp = lab.experiment("shapes-cnn", 1, **{"data.n_train": 64, "data.n_test": 32,
                                               "data.image_size": 16, "data.standardize": '"zca"',
                                               "model.kind": '"mlp"', "model.hidden": "[8]",
                                               "model.blocks": "[]", "train.batch_size": 32})
    run = _train(exp, tmp_path)
    out = export_onnx.export_run(run, tmp_path / "zca.onnx")
    model, r = _check_logits(run, out)
    props = _props(model)
    assert props["standardisation"] == "zca" and props["zca_matrix"] == "zca.zca.npy"
    np.testing.assert_array_equal(np.load(tmp_path / "zca.zca.npy"), r.data.zca.numpy())


def test_the_hand_written_mlp_exports_its_torch_nn_equivalent(tmp_path):
    run = _train(lab.circles(1, **{"model.implementation": '"manual"'}), tmp_path)
    _check_logits(run, export_onnx.export_run(run, tmp_path / "manual.onnx"))


def test_without_onnx_the_sentence_says_how_to_install_it(tmp_path, monkeypatch):
    run = _train(lab.circles(1), tmp_path)
    monkeypatch.setitem(sys.modules, "onnx", None)  # the import fails as if it were absent
    with pytest.raises(ExportError, match=r"pip install 'learnscope\[onnx\]'"):
        export_onnx.export_run(run, tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_a_run_without_weights_is_a_sentence(tmp_path):
    run = _train(lab.circles(1), tmp_path)
    (run / "weights.pt").unlink()
    with pytest.raises(ExportError, match="has no saved weights .* train it for at least one epoch"):
        export_onnx.export_run(run, tmp_path / "m.onnx")
    with pytest.raises(ExportError, match="not a run folder"):
        export_onnx.export_run(tmp_path, tmp_path / "m.onnx")


def test_a_folder_that_cannot_be_written_is_a_sentence(tmp_path):
    run = _train(lab.circles(1), tmp_path)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(ExportError, match="Cannot write .*a-file.*choose a folder you can write to"):
        export_onnx.export_run(run, blocker / "m.onnx")
