"""export_run: a trained run's model as ONNX, its preprocessing and class names included."""

from __future__ import annotations

import math
from pathlib import Path

from scratchnn.data import transforms
from scratchnn.errors import DataError
from scratchnn.onnx.exporter import DEFAULT_OPSET, export


def export_run(run: str | Path, out: str | Path | None = None, *,
               opset: int = DEFAULT_OPSET) -> Path:
    """Export the model of `run` (a run directory or its model.npz) -> the file written
    (default: model.onnx beside model.npz). The graph takes what `scratchnn predict` takes for
    an image: uint8 pixels 0-255, (batch, C, H, W)."""
    from scratchnn.train.modelfile import load_model

    run = Path(run)
    model_file = run / "model.npz" if run.is_dir() else run
    model, meta = load_model(model_file)
    preprocess = transforms.from_dict(meta["preprocess"]) if meta.get("preprocess") else None
    pixel_max = meta.get("pixel_max")
    if pixel_max is None and preprocess is not None:
        pixel_max = 255                    # model files from before pixel_max: 0-255 pixels
    if pixel_max is not None and (type(pixel_max) not in (int, float)
                                  or not 0 < pixel_max < math.inf):
        raise DataError(f"{model_file}: metadata pixel_max {pixel_max!r} is not a positive "
                        "number")
    shape = tuple(meta.get("input_shape") or (meta["input_size"],))
    classes = meta.get("classes") or [str(k) for k in range(meta["output_size"])]
    out = Path(out) if out is not None else model_file.with_suffix(".onnx")
    return export(model, out, input_shape=shape, preprocess=preprocess, pixel_max=pixel_max,
                  classes=classes, opset=opset)
