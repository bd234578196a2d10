"""The front of an exported graph: raw uint8 pixels -> the model's float32 input, with the same
float32 arithmetic as `scratchnn predict` (train/predict.py) and the fitted transform
(data/transforms.py), so onnxruntime and our forward see the same numbers."""

from __future__ import annotations

import numpy as np

from scratchnn.data.transforms import Scale, Standardize, SubtractMeanImage
from scratchnn.errors import ConfigError
from scratchnn.onnx.builder import GraphBuilder

PREFIX = "preprocess/"          # every node of the front is named so (the importer skips them)


def add_front(g: GraphBuilder, pixels: str, preprocess, pixel_max: float | None,
              input_shape: tuple[int, ...]) -> str:
    """Nodes from the uint8 input `pixels` (N, *input_shape) to the float32 model input.

    pixel_max: the value of a full-intensity pixel in the training data (16 for digits); when
    given and not 255, 0-255 pixels are first mapped onto that scale, as predict does for images.
    """
    from onnx import TensorProto

    x = g.node("Cast", [pixels], PREFIX + "cast", to=TensorProto.FLOAT)
    if pixel_max is not None and pixel_max != 255:
        x = g.node("Mul", [x, g.constant(PREFIX + "pixel_scale", np.float32(pixel_max / 255))],
                   PREFIX + "pixel_scale")
    if preprocess is None:
        return x
    if isinstance(preprocess, Standardize):
        # Standardize.__call__: x * (1/255 / std) - mean / std, per channel, in float32
        channels = len(preprocess.mean)
        shape = (channels,) + (1,) * (len(input_shape) - 1) if channels > 1 else ()
        mean = np.asarray(preprocess.mean, np.float32).reshape(shape)
        std = np.asarray(preprocess.std, np.float32).reshape(shape)
        x = g.node("Mul", [x, g.constant(PREFIX + "scale", np.float32(1 / 255) / std)],
                   PREFIX + "scale")
        return g.node("Sub", [x, g.constant(PREFIX + "shift", mean / std)], PREFIX + "shift")
    if isinstance(preprocess, Scale):
        return g.node("Mul", [x, g.constant(PREFIX + "scale", np.float32(1 / 255))],
                      PREFIX + "scale")
    if isinstance(preprocess, SubtractMeanImage):
        return g.node("Sub", [x, g.constant(PREFIX + "mean_image", preprocess.mean_image)],
                      PREFIX + "mean_image")
    raise ConfigError(f"cannot export the preprocessing {type(preprocess).__name__}; supported: "
                      "Standardize, Scale, SubtractMeanImage or None")
