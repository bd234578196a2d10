"""PNG pictures for the page, as data: URLs: the input as the model sees it, and a heat map."""

from __future__ import annotations

import base64
import io

import numpy as np

SIZE = 224          # pixels on the page (the long side); small inputs are scaled up


def data_url(image: np.ndarray) -> str:
    """uint8 (H, W) or (H, W, 3|4) -> "data:image/png;base64,...", scaled up (nearest
    neighbour, whole pixels) so its long side is about SIZE."""
    from PIL import Image

    picture = Image.fromarray(image)
    factor = max(1, SIZE // max(image.shape[:2]))
    picture = picture.resize((image.shape[1] * factor, image.shape[0] * factor),
                             Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def model_view(x: np.ndarray, white: float) -> np.ndarray:
    """One raw input (C, H, W) on the 0..white scale -> uint8 (H, W) or (H, W, 3)."""
    pixels = np.clip(np.rint(x.astype(np.float64) * (255 / white)), 0, 255).astype(np.uint8)
    return pixels[0] if len(pixels) == 1 else pixels.transpose(1, 2, 0)


def heat_map(gradient: np.ndarray) -> np.ndarray:
    """A gradient (C, H, W) -> uint8 RGB (H, W, 3): max over channels of |gradient|, divided by
    its maximum, through matplotlib's "inferno" colour map (black = no effect)."""
    from matplotlib import colormaps

    strength = np.abs(gradient).max(axis=0)                     # (H, W)
    top = strength.max()
    strength = strength / top if top > 0 else strength
    return (colormaps["inferno"](strength)[..., :3] * 255).round().astype(np.uint8)
