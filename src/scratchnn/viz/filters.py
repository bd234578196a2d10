"""What the first layer learned: its filters (or a dense net's weight templates) as a grid."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from scratchnn.layers import Conv2d, Linear
from scratchnn.viz.images import tile, unit_scale
from scratchnn.viz.plots import _save, plt


def first_layer_images(model, input_shape: tuple[int, ...]) -> np.ndarray | None:
    """(K, h, w) or (K, h, w, 3) images of the first weight layer, or None if it has none.

    Conv2d: each filter (out, in, kh, kw); one input channel gives grey images, three give RGB,
    others show input channel 0. Linear on image input: each column of the (C*H*W, M) weight
    reshaped to the image, the template the unit responds to.
    """
    for layer in model.modules():
        if isinstance(layer, Conv2d):
            weight = layer.weight.data
            return weight.transpose(0, 2, 3, 1) if weight.shape[1] == 3 else weight[:, 0]
        if isinstance(layer, Linear):
            if len(input_shape) != 3 or math.prod(input_shape) != layer.in_features:
                return None
            c, h, w = input_shape
            templates = layer.weight.data.T.reshape(-1, c, h, w)
            return templates.transpose(0, 2, 3, 1) if c == 3 else templates[:, 0]
    return None


def mosaic(images: np.ndarray, gap: int = 1) -> np.ndarray:
    """(K, h, w[, 3]) images, each scaled to its own min..max, tiled row by row into one
    roughly square image with `gap` pixels of white between tiles."""
    scaled = np.stack([unit_scale(image) for image in np.asarray(images, np.float64)])
    return tile(scaled, columns=math.ceil(math.sqrt(len(scaled))), pad=gap, fill=1.0)


def plot_filters(model, path: str | Path, input_shape: tuple[int, ...],
                 max_images: int = 64) -> bool:
    """Save the first layer's filters (at most max_images) as one grid image to `path`; False
    (and no file) when the model has no such layer."""
    images = first_layer_images(model, tuple(input_shape))
    if images is None:
        return False
    images = images[:max_images]
    grid = mosaic(images)
    fig, ax = plt.subplots(figsize=(4.5, 4.5 * grid.shape[0] / grid.shape[1] + 0.4), dpi=110)
    ax.imshow(grid, cmap="gray", interpolation="nearest", vmin=0.0, vmax=1.0)
    ax.axis("off")
    ax.set_title(f"first layer: {len(images)} weight images {images.shape[1]}x{images.shape[2]} "
                 "(each scaled to its own range)", fontsize=8)
    _save(fig, path)
    return True
