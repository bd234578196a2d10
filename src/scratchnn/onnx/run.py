"""export_run: a trained run's model as ONNX, its preprocessing and class names included."""

from __future__ import annotations

from pathlib import Path

from scratchnn.onnx.exporter import DEFAULT_OPSET, export


def export_run(run: str | Path, out: str | Path | None = None, *,
               opset: int = DEFAULT_OPSET) -> Path:
    """Export the model of `run` (a run directory or its model.npz) -> the file written
    (default: model.onnx beside model.npz). The graph takes what `scratchnn predict` takes from
    an image file: uint8 pixels 0-255, (batch, C, H, W), mapped onto the training data's scale
    (digits: 0-16) and preprocessed as in training; a run trained with --tta averages its views
    in the graph too."""
    from scratchnn.train import Run

    run = Run.open(run)
    model = run.load_model()
    out = Path(out) if out is not None else run.model_path.with_suffix(".onnx")
    return export(model, out, input_shape=run.input_shape, preprocess=run.preprocessing,
                  pixel_max=run.pixel_max or 255, classes=run.classes,
                  views=run.test_views, opset=opset)
