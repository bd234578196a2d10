"""Arrays as pictures: PNG bytes and data: URIs, tiled grids, samples and first-layer weights.

    uri = data_uri(png_bytes(image, cmap="gray"))   # for <img src="..."> in a report
    png = weight_grid(first_layer_images(model, (1, 28, 28)))   # see viz.filters
"""

from __future__ import annotations

import base64
import io
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import numpy as np  # noqa: E402


def png_bytes(image: np.ndarray, cmap: str = "gray", vmin: float | None = None,
              vmax: float | None = None) -> bytes:
    """(H, W) through a colormap, or (H, W, 3) RGB in [0, 1], as PNG bytes (NaN: transparent)."""
    buffer = io.BytesIO()
    plt.imsave(buffer, image, cmap=cmap, vmin=vmin, vmax=vmax, format="png")
    return buffer.getvalue()


def figure_png(fig) -> bytes:
    """A matplotlib figure as PNG bytes; the figure is closed."""
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


def data_uri(png: bytes) -> str:
    """PNG bytes -> "data:image/png;base64,...", so an HTML page needs no other file."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def png_size(png: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk."""
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def sample_picture(x: np.ndarray) -> np.ndarray | None:
    """One sample as imsave shows it: (1, H, W) or (H, W) -> (H, W); (3, H, W) -> (H, W, 3)
    scaled to [0, 1]; None for anything that is not an image (a flat feature vector)."""
    x = np.asarray(x)
    if x.ndim == 3 and x.shape[0] == 1:
        x = x[0]
    if x.ndim == 2 and min(x.shape) > 1:
        return x
    if x.ndim == 3 and x.shape[0] == 3:
        rgb = np.moveaxis(x, 0, -1).astype(np.float64)
        return rgb / 255.0 if x.dtype == np.uint8 else unit_scale(rgb)
    return None


def tile(images: np.ndarray, columns: int, pad: int = 1, fill: float = np.nan) -> np.ndarray:
    """Images (K, H, W) or (K, H, W, 3) as one grid, `columns` wide, `pad` pixels of `fill`
    between them. Shapes: -> (rows*(H+pad)-pad, columns*(W+pad)-pad[, 3])."""
    k, h, w = images.shape[:3]
    columns = max(1, min(columns, k))
    rows = math.ceil(k / columns)
    grid = np.full((rows * (h + pad) - pad, columns * (w + pad) - pad, *images.shape[3:]), fill)
    for i, image in enumerate(images):
        r, c = divmod(i, columns)
        grid[r * (h + pad):r * (h + pad) + h, c * (w + pad):c * (w + pad) + w] = image
    return grid


def weight_grid(images: np.ndarray, columns: int = 8) -> bytes:
    """First-layer weights as one PNG grid: (K, h, w) signed pictures (Linear templates, conv
    filters) each divided by its own max |value| through red-white-blue (red positive, white 0);
    (K, h, w, 3) RGB filters each min-max scaled."""
    images = np.asarray(images, dtype=np.float64)
    if images.ndim == 4:
        return png_bytes(tile(np.stack([unit_scale(image) for image in images]), columns, fill=1.0))
    return _diverging(images, columns)


def _diverging(pictures: np.ndarray, columns: int) -> bytes:
    """(K, H, W) signed pictures, each divided by its max |value|, through red-white-blue."""
    scale = np.abs(pictures).reshape(len(pictures), -1).max(axis=1)
    scaled = pictures / np.where(scale > 0, scale, 1.0)[:, None, None]
    return png_bytes(tile(scaled, columns), cmap="RdBu_r", vmin=-1.0, vmax=1.0)


def unit_scale(x: np.ndarray) -> np.ndarray:
    """Min-max scale to [0, 1] (a constant array becomes 0.5)."""
    low, high = float(np.min(x)), float(np.max(x))
    return np.full_like(x, 0.5, dtype=np.float64) if high <= low else (x - low) / (high - low)
