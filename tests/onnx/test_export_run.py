"""`scratchnn export RUN`: the file a trained run gives equals `scratchnn predict` on the same
image files (digits: 0-255 pixels mapped onto 0-16, then standardised, inside the graph)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

import scratchnn as snn
from scratchnn.cli import main
from scratchnn.train.predict import predict_files

onnx = pytest.importorskip("onnx")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A small run trained by the CLI on scikit-learn's digits (one epoch)."""
    directory = tmp_path_factory.mktemp("run") / "digits"
    assert main(["train", "--dataset", "digits", "--model", "mlp", "--hidden-sizes", "16",
                 "--epochs", "1", "--out", str(directory), "--no-progress"]) == 0
    return directory


def test_export_equals_predict_on_image_files(run, tmp_path, run_onnx, capsys):
    assert main(["export", str(run)]) == 0
    path = run / "model.onnx"
    assert f"wrote {path}" in capsys.readouterr().out
    digits = snn.data.load("digits").x_test[:9]                       # 0-16
    pixels = np.rint(digits * (255 / 16)).astype(np.uint8)             # as image files hold
    files = []
    for i, image in enumerate(pixels):
        files.append(tmp_path / f"{i}.png")
        Image.fromarray(image[0]).save(files[-1])
    expected = predict_files(run, files, top_k=10)
    outputs = run_onnx(path, pixels)
    classes = json.loads({p.key: p.value for p in onnx.load(str(path)).metadata_props}
                         ["classes"])
    for prediction, probabilities in zip(expected, outputs["probabilities"], strict=True):
        ours = sorted(zip(classes, probabilities.tolist(), strict=True), key=lambda cp: -cp[1])
        assert [c for c, _ in ours] == [c for c, _ in prediction.top]
        np.testing.assert_allclose([p for _, p in ours], [p for _, p in prediction.top],
                                   rtol=1e-5, atol=1e-6)


def test_export_options_and_bad_input(run, tmp_path, capsys):
    out = tmp_path / "m13.onnx"
    assert main(["export", str(run), "--out", str(out), "--opset", "13"]) == 0
    assert onnx.load(str(out)).opset_import[0].version == 13
    assert main(["export", str(run), "--out", str(tmp_path / "x.onnx"), "--opset", "3"]) == 2
    assert "opset must be in [13," in capsys.readouterr().err
    assert main(["export", str(tmp_path / "nowhere")]) == 2
    assert not (tmp_path / "x.onnx").exists()
