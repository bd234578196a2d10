"""CS231n's `vis_utils.visualize_grid`, over scratchnn.viz.images."""

from __future__ import annotations

import math

import numpy as np

from scratchnn.viz.images import tile, unit_scale


def visualize_grid(Xs: np.ndarray, ubound: float = 255.0, padding: int = 1) -> np.ndarray:  # noqa: N803
    """Images (N, H, W, C) -> one grid (G*H + (G-1)*padding, G*W + (G-1)*padding, C),
    G = ceil(sqrt(N)), each image min-max scaled to [0, ubound] on its own, zeros between and
    after the images (as the course). A constant image becomes ubound / 2."""
    n = Xs.shape[0]
    side = math.ceil(math.sqrt(n))
    scaled = np.stack([ubound * unit_scale(x) for x in Xs])
    blanks = np.zeros((side * side - n, *Xs.shape[1:]))
    return tile(np.concatenate([scaled, blanks]), side, pad=padding, fill=0.0)
