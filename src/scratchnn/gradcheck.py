"""Numerical gradient checking: compare backprop with centred differences, in float64.

    report = gradcheck.check_layer(layer, x)          # the input and every parameter
    report = gradcheck.check_loss(loss_fn, scores, labels)
    report = gradcheck.check_model(model, loss_fn, x, y)
    print(report.table()); assert report.max_rel_error < 1e-6

Everything is checked on a float64 copy (float32 differences are too coarse: ~1e-3 "errors" that
are not bugs), with a random upstream gradient (an all-ones one hides transposes), running
statistics and random generators frozen between evaluations, and a seeded RNG. Large arrays are
checked on a random sample of coordinates. This module depends on NumPy only.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

EPS = 1e-5            # centred-difference step: error ~ EPS^2 (truncation) + 1e-16 / EPS (rounding)
TOLERANCE = 1e-6      # what a correct float64 backward reaches, with room to spare
# Below FLOOR, |a| + |n| is replaced by FLOOR, i.e. tiny gradients are compared absolutely
# (|a - n| < TOLERANCE * FLOOR = 1e-9). CS231n's 1e-8 turns the ~1e-11 rounding noise of a
# gradient that is exactly zero (a bias before batch norm) into a false "1e-3 relative error".
FLOOR = 1e-3


def rel_error(analytic: np.ndarray, numeric: np.ndarray, floor: float = 1e-8) -> float:
    """Max over elements of |a - n| / max(floor, |a| + |n|); floor=1e-8 is CS231n's rel_error."""
    a, n = np.asarray(analytic, np.float64), np.asarray(numeric, np.float64)
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - n) / np.maximum(floor, np.abs(a) + np.abs(n))))


def numerical_gradient(f: Callable[[], float | np.ndarray], x: np.ndarray, eps: float = EPS,
                       index: np.ndarray | None = None) -> np.ndarray:
    """Centred differences sum(f(x + eps) - f(x - eps)) / 2 eps with respect to x.

    f() returns a scalar, or an array whose sum is the scalar: then the two evaluations are
    subtracted element by element before summing, so terms that x does not touch cancel exactly
    instead of adding rounding noise. x is changed in place one coordinate at a time and
    restored; `index` (flat positions) limits the check to a sample. Returns an array shaped
    like x (NaN where not checked).
    """
    grad = np.full(x.shape, np.nan)
    flat = x.reshape(-1)                 # a view: writing it moves the array f() reads
    if not np.shares_memory(flat, x):
        raise ValueError("numerical_gradient needs a contiguous array")
    positions = range(x.size) if index is None else index
    for i in positions:
        saved = flat[i]
        flat[i] = saved + eps
        plus = np.array(f())             # copies: f may return x itself or a view of it
        flat[i] = saved - eps
        minus = np.array(f())
        flat[i] = saved
        grad.flat[i] = np.sum(np.subtract(plus, minus)) / (2 * eps)
    return grad


@dataclass
class Row:
    name: str
    shape: tuple[int, ...]
    checked: int
    max_rel_error: float
    max_abs_error: float


@dataclass
class GradcheckReport:
    """One row per checked array: its name, shape and the max relative / absolute error."""

    rows: list[Row] = field(default_factory=list)
    tolerance: float = TOLERANCE

    @property
    def max_rel_error(self) -> float:
        return max((r.max_rel_error for r in self.rows), default=0.0)

    @property
    def ok(self) -> bool:
        return self.max_rel_error < self.tolerance

    def worst(self) -> Row:
        return max(self.rows, key=lambda r: r.max_rel_error)

    def table(self) -> str:
        lines = [f"{'array':<28}{'shape':<18}{'checked':>8}{'rel error':>12}{'abs error':>12}  ",
                 "-" * 82]
        for r in self.rows:
            flag = "ok" if r.max_rel_error < self.tolerance else "FAIL"
            lines.append(f"{r.name:<28}{str(r.shape):<18}{r.checked:>8}"
                         f"{r.max_rel_error:>12.2e}{r.max_abs_error:>12.2e}  {flag}")
        lines.append(f"float64, centred differences (eps={EPS:g}); tolerance {self.tolerance:g}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()


# -- helpers ------------------------------------------------------------------------------------

def _float64_copy(obj):
    """A deep copy with every parameter and buffer in float64 (the caller's object is untouched)."""
    clone = copy.deepcopy(obj)
    if hasattr(clone, "to_dtype"):
        clone.to_dtype(np.float64)
    return clone


def _freezer(model) -> Callable[[], None]:
    """Snapshot buffers (running statistics) and random generators; the returned function puts
    them back, so every evaluation of f sees the same state (the same dropout mask, too).

    Generators are rewound in place, not replaced: layers that share one generator keep sharing
    it, and draw the same masks in the same order as in the analytic pass.
    """
    buffers, generators = [], {}
    for layer in model.modules() if hasattr(model, "modules") else [model]:
        for name in getattr(layer, "buffers", ()):
            buffers.append((layer, name, getattr(layer, name).copy()))
        for value in vars(layer).values():
            if isinstance(value, np.random.Generator):
                generators[id(value)] = (value, value.bit_generator.state)

    def restore() -> None:
        for layer, name, value in buffers:
            setattr(layer, name, value.copy())
        for generator, state in generators.values():
            generator.bit_generator.state = state
    return restore


def _sample(size: int, max_checks: int | None, rng: np.random.Generator) -> np.ndarray | None:
    if max_checks is None or size <= max_checks:
        return None
    return rng.choice(size, max_checks, replace=False)


def _row(name: str, analytic: np.ndarray, numeric: np.ndarray, index: np.ndarray | None) -> Row:
    a, n = analytic.reshape(-1), numeric.reshape(-1)
    if index is not None:
        a, n = a[index], n[index]
    abs_error = float(np.max(np.abs(a - n))) if a.size else 0.0
    return Row(name, tuple(analytic.shape), a.size, rel_error(a, n, FLOOR), abs_error)


def _check_arrays(f: Callable[[], float], arrays: list[tuple[str, np.ndarray, np.ndarray]],
                  max_checks: int | None, rng: np.random.Generator, eps: float) -> GradcheckReport:
    report = GradcheckReport()
    for name, array, analytic in arrays:
        index = _sample(array.size, max_checks, rng)
        numeric = numerical_gradient(f, array, eps, index)
        report.rows.append(_row(name, analytic, numeric, index))
    return report


def _grad_or_zeros(param) -> np.ndarray:
    return param.grad if param.grad is not None else np.zeros_like(param.data)


# -- public checks ------------------------------------------------------------------------------

def check_layer(layer, x: np.ndarray, dout: np.ndarray | None = None, *,
                max_checks: int | None = None, eps: float = EPS,
                rng: np.random.Generator | None = None) -> GradcheckReport:
    """Check dx and every parameter gradient of a layer at input x.

    The scalar differenced is sum(layer(x) * dout), with dout random unless given; the layer is
    copied to float64 first and left unchanged.
    """
    rng = rng if rng is not None else np.random.default_rng(0)
    layer = _float64_copy(layer)
    layer.train()
    x = np.array(x, dtype=np.float64)
    restore = _freezer(layer)
    out = layer.forward(x)
    dout = rng.standard_normal(out.shape) if dout is None else np.asarray(dout, np.float64)
    layer.zero_grad()
    dx = layer.backward(dout.copy())

    def f() -> np.ndarray:
        restore()
        return layer.forward(x) * dout

    arrays = [("input", x, dx)]
    arrays += [(name, p.data, _grad_or_zeros(p)) for name, p in layer.named_parameters()]
    report = _check_arrays(f, arrays, max_checks, rng, eps)
    restore()
    return report


def check_loss(loss_fn, scores: np.ndarray, labels: np.ndarray, *, eps: float = EPS
               ) -> GradcheckReport:
    """Check d(loss)/d(scores) of a loss object at (scores, labels), in float64."""
    scores = np.array(scores, dtype=np.float64)
    labels = np.asarray(labels)
    if labels.dtype.kind == "f":
        labels = labels.astype(np.float64)
    loss_fn = copy.deepcopy(loss_fn)
    loss_fn.forward(scores, labels)
    dscores = loss_fn.backward()
    return _check_arrays(lambda: loss_fn.forward(scores, labels), [("scores", scores, dscores)],
                         None, np.random.default_rng(0), eps)


def check_model(model, loss_fn, x: np.ndarray, y: np.ndarray, *, max_checks: int | None = 20,
                eps: float = EPS, rng: np.random.Generator | None = None) -> GradcheckReport:
    """Check the gradient of loss_fn(model(x), y) for the input and every parameter.

    Large arrays are sampled: at most `max_checks` coordinates each (None checks all).
    """
    rng = rng if rng is not None else np.random.default_rng(0)
    model = _float64_copy(model)
    model.train()
    loss_fn = copy.deepcopy(loss_fn)
    x = np.array(x, dtype=np.float64)
    restore = _freezer(model)
    loss_fn.forward(model.forward(x), y)
    model.zero_grad()
    dx = model.backward(loss_fn.backward())

    def f() -> float:
        restore()
        return loss_fn.forward(model.forward(x), y)

    arrays = [("input", x, dx)]
    arrays += [(name, p.data, _grad_or_zeros(p)) for name, p in model.named_parameters()]
    report = _check_arrays(f, arrays, max_checks, rng, eps)
    restore()
    return report
