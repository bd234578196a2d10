"""Helpers shared by the layer tests (pytest puts tests/layers on sys.path, so they import this).

Tolerances for comparing with torch are fixed and come from the unit roundoff u of each dtype
(float32 u = 6e-8, float64 u = 1.1e-16). An element may differ from the reference by RTOL of
itself plus ATOL of `scale`, the magnitude of the terms it is computed from: a sum of K terms
rounds to about K u of the sum of their absolute values, not of a (possibly cancelled) result.
By default `scale` is the largest element of the reference. That leaves ~100x room over the
rounding of our small shapes and still catches a 1e-3 relative bug in float32, and any
formula-level bug in float64.
"""

from __future__ import annotations

import numpy as np

RTOL = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-12}
ATOL = {np.dtype(np.float32): 1e-6, np.dtype(np.float64): 1e-13}
DTYPES = [np.float32, np.float64]


def assert_close(actual: np.ndarray, expected, dtype, scale=None) -> None:
    """Equal within the dtype's fixed tolerance, and of exactly that dtype and shape.

    `scale` (a number or an array like `expected`): the size of the terms each element is summed
    from, e.g. sum(|dout * xhat|) for a batch-norm dgamma; default max |expected|.
    """
    dtype = np.dtype(dtype)
    assert actual.dtype == dtype, f"got {actual.dtype}, expected {dtype}"
    expected = np.asarray(expected, np.float64)
    assert actual.shape == expected.shape, f"got shape {actual.shape}, expected {expected.shape}"
    if scale is None:
        scale = np.abs(expected).max() if expected.size else 0.0
    error = np.abs(actual.astype(np.float64) - expected)
    bound = RTOL[dtype] * np.abs(expected) + ATOL[dtype] * np.asarray(scale, np.float64)
    bad = error > bound
    assert not bad.any(), (
        f"{bad.sum()} of {bad.size} elements differ beyond rtol={RTOL[dtype]:g}, "
        f"atol={ATOL[dtype]:g} x scale; worst: {actual.flat[np.argmax(error - bound)]!r} vs "
        f"{expected.flat[np.argmax(error - bound)]!r}")


def parity_error(actual: np.ndarray, expected) -> float:
    """The largest |actual - expected| relative to the reference's largest element."""
    expected = np.asarray(expected, np.float64)
    return float(np.abs(np.asarray(actual, np.float64) - expected).max() / np.abs(expected).max())


def away_from_zero(rng: np.random.Generator, shape, dtype=np.float64, low: float = 0.1
                   ) -> np.ndarray:
    """Random values with |x| in [low, 2): no element near a ReLU kink."""
    magnitude = rng.uniform(low, 2.0, shape)
    return (np.where(rng.random(shape) < 0.5, -1.0, 1.0) * magnitude).astype(dtype)


def randomise(layer, rng: np.random.Generator) -> None:
    """Fill every parameter with distinct random values (swapped gradients cannot cancel out)."""
    for p in layer.parameters():
        p.data = rng.standard_normal(p.data.shape).astype(p.data.dtype)


def tensor(torch, array: np.ndarray, requires_grad: bool = False):
    """A torch tensor with the array's dtype and values (copied, so torch cannot write back)."""
    return torch.tensor(np.array(array), requires_grad=requires_grad)
