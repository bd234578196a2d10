"""export_run: a trained run's model as ONNX, its preprocessing and class names included."""

from __future__ import annotations

from pathlib import Path

from scratchnn.onnx.exporter import DEFAULT_OPSET, export


def export_run(run: str | Path, out: str | Path | None = None, *,
               opset: int = DEFAULT_OPSET) -> Path:
    """Export the model of `run` (a run directory or its model.npz) -> the file written
    (default: model.onnx beside model.npz). The graph takes what `scratchnn predict` takes for
    an image: uint8 pixels 0-255, (batch, C, H, W)."""
    from scratchnn.train import Run

    run = Run.open(run)
    model, preprocess, pixel_max = run.load_model(), run.preprocessing, run.pixel_max
    if pixel_max is None and preprocess is not None:
        pixel_max = 255                    # model files from before pixel_max: 0-255 pixels
    out = Path(out) if out is not None else run.model_path.with_suffix(".onnx")
    return export(model, out, input_shape=run.input_shape, preprocess=preprocess,
                  pixel_max=pixel_max, classes=run.classes, opset=opset)
