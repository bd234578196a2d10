"""Numerical gradient checking: compare backprop with centred differences, in float64.

    report = gradcheck.check_layer(layer, x)          # the input and every parameter
    report = gradcheck.check_loss(loss_fn, scores, labels)
    report = gradcheck.check_model(model, loss_fn, x, y)
    reports = gradcheck.check_layers(model, x)      # [(name, layer, report)], layer by layer
    report = gradcheck.check_pair(forward, backward, *inputs)   # a CS231n-style kernel pair
    print(report.table()); assert report.max_rel_error < 1e-6

Everything is checked on a float64 copy (float32 differences are too coarse: ~1e-3 "errors" that
are not bugs), with a random upstream gradient (an all-ones one hides transposes), running
statistics and random generators frozen between evaluations, and a seeded RNG. Large arrays are
checked on a random sample of coordinates. This module depends on NumPy only (its snapshot
helper, scratchnn.snapshot, does too).

Kinks. Where f(x + eps) and f(x - eps) straddle a kink (a ReLU input or the margin between a
max-pool window's two largest values crossed), a centred difference measures no derivative. In
a conv net one weight moves thousands of ReLU inputs, so this happens to a few percent of the
coordinates. Layers and models are therefore checked with a fingerprint of the forward's
discrete choices (the boolean and integer arrays in the layers' caches: ReLU masks, max-pool
winners); a coordinate whose two evaluations made different choices is skipped and counted.
"""

from __future__ import annotations

import copy
import hashlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np

from scratchnn.snapshot import freeze  # NumPy only, like this module

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
                       index: np.ndarray | None = None,
                       decisions: Callable[[], bytes] | None = None) -> np.ndarray:
    """Centred differences sum(f(x + eps) - f(x - eps)) / 2 eps with respect to x.

    f() returns a scalar, or an array whose sum is the scalar: then the two evaluations are
    subtracted element by element before summing, so terms that x does not touch cancel exactly
    instead of adding rounding noise. x is changed in place one coordinate at a time and
    restored; `index` (flat positions) limits the check to a sample. Returns an array shaped
    like x (NaN where not checked). `decisions()`, called after each f(), fingerprints the
    discrete choices f made; where they differ between x + eps and x - eps a kink lies between:
    that coordinate is left NaN too.
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
        chose = decisions() if decisions is not None else None
        flat[i] = saved - eps
        minus = np.array(f())
        flat[i] = saved
        if decisions is not None and decisions() != chose:
            continue                     # straddles a kink: no derivative measured
        grad.flat[i] = np.sum(np.subtract(plus, minus)) / (2 * eps)
    return grad


@dataclass
class Row:
    name: str
    shape: tuple[int, ...]
    checked: int
    max_rel_error: float
    max_abs_error: float
    kinks: int = 0            # sampled coordinates skipped: x +- eps straddled a kink


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
            if r.kinks:
                flag += f" ({r.kinks} more at kinks, skipped)"
            lines.append(f"{r.name:<28}{str(r.shape):<18}{r.checked:>8}"
                         f"{r.max_rel_error:>12.2e}{r.max_abs_error:>12.2e}  {flag}")
        lines.append(f"float64, centred differences (eps={EPS:g}); tolerance {self.tolerance:g}")
        if any(r.kinks for r in self.rows):
            lines.append("kinks: x +- eps changed a ReLU mask or a max-pool winner, so the "
                         "difference measures no derivative there")
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


def _sample(size: int, max_checks: int | None, rng: np.random.Generator) -> np.ndarray | None:
    if max_checks is None or size <= max_checks:
        return None
    return rng.choice(size, max_checks, replace=False)


def _row(name: str, analytic: np.ndarray, numeric: np.ndarray, index: np.ndarray | None) -> Row:
    a, n = analytic.reshape(-1), numeric.reshape(-1)
    if index is not None:
        a, n = a[index], n[index]
    measured = ~np.isnan(n)                   # every sampled coordinate except kinks
    kinks = int(a.size - np.count_nonzero(measured))
    a, n = a[measured], n[measured]
    abs_error = float(np.max(np.abs(a - n))) if a.size else 0.0
    return Row(name, tuple(analytic.shape), a.size, rel_error(a, n, FLOOR), abs_error, kinks)


def _decisions(model) -> Callable[[], bytes]:
    """A fingerprint of the discrete choices of the model's last forward: every boolean or
    integer array in its layers' caches (ReLU masks, max-pool winners)."""
    def arrays(value):
        if isinstance(value, np.ndarray):
            if value.dtype.kind in "biu":
                yield value
        elif isinstance(value, tuple):
            for item in value:
                yield from arrays(item)

    def fingerprint() -> bytes:
        digest = hashlib.blake2b()
        for layer in model.modules() if hasattr(model, "modules") else [model]:
            for array in arrays(getattr(layer, "_cache", None)):
                digest.update(np.ascontiguousarray(array).tobytes())
        return digest.digest()
    return fingerprint


def _check_arrays(f: Callable[[], float], arrays: list[tuple[str, np.ndarray, np.ndarray]],
                  max_checks: int | None, rng: np.random.Generator, eps: float,
                  decisions: Callable[[], bytes] | None = None) -> GradcheckReport:
    report = GradcheckReport()
    for name, array, analytic in arrays:
        index = _sample(array.size, max_checks, rng)
        numeric = numerical_gradient(f, array, eps, index, decisions)
        if index is None:
            index = np.arange(array.size)     # NaN in numeric now means a kink
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
    x = np.array(x, dtype=np.float64, order="C")
    restore = freeze(layer)
    out = layer.forward(x)
    dout = rng.standard_normal(out.shape) if dout is None else np.asarray(dout, np.float64)
    layer.zero_grad()
    dx = layer.backward(dout.copy())

    def f() -> np.ndarray:
        restore()
        return layer.forward(x) * dout

    arrays = [("input", x, dx)]
    arrays += [(name, p.data, _grad_or_zeros(p)) for name, p in layer.named_parameters()]
    report = _check_arrays(f, arrays, max_checks, rng, eps, _decisions(layer))
    restore()
    return report


def check_loss(loss_fn, scores: np.ndarray, labels: np.ndarray, *, eps: float = EPS
               ) -> GradcheckReport:
    """Check d(loss)/d(scores) of a loss object at (scores, labels), in float64."""
    scores = np.array(scores, dtype=np.float64, order="C")
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
    x = np.array(x, dtype=np.float64, order="C")
    restore = freeze(model)
    loss_fn.forward(model.forward(x), y)
    model.zero_grad()
    dx = model.backward(loss_fn.backward())

    def f() -> float:
        restore()
        return loss_fn.forward(model.forward(x), y)

    arrays = [("input", x, dx)]
    arrays += [(name, p.data, _grad_or_zeros(p)) for name, p in model.named_parameters()]
    report = _check_arrays(f, arrays, max_checks, rng, eps, _decisions(model))
    restore()
    return report


def check_layers(model, x: np.ndarray, *, max_checks: int | None = 20, eps: float = EPS,
                 rng: np.random.Generator | None = None
                 ) -> list[tuple[str, object, GradcheckReport]]:
    """check_layer for each child of `model` (a Sequential) at the input it receives when x
    goes forward through a float64 copy -> [(name, layer, report), ...], in order.

    Ties (the zeros a ReLU hands to a max-pool) are kinks like any other: check_layer skips and
    counts the coordinates where they change the forward's choices.
    """
    rng = rng if rng is not None else np.random.default_rng(0)
    model = _float64_copy(model)
    model.train()
    h = np.array(x, dtype=np.float64, order="C")
    reports = []
    for name, layer in model.children():
        reports.append((name, layer, check_layer(layer, h, max_checks=max_checks, eps=eps,
                                                 rng=rng)))
        h = layer.forward(h)
    return reports


def check_pair(forward: Callable, backward: Callable, *inputs, dout: np.ndarray | None = None,
               max_checks: int | None = None, eps: float = EPS,
               rng: np.random.Generator | None = None) -> GradcheckReport:
    """Check a CS231n-style functional pair: forward(*inputs) -> (out, cache) and
    backward(dout, cache) -> the gradient of each input: a tuple with one entry per input (None
    for inputs without one: labels, integers), or a single array when only the first input has
    one. Trailing inputs that are not float arrays (p, an rng, a param dict) may be left out.

    Float array inputs are copied to float64 and checked where backward returns a gradient;
    anything else is passed through unchanged (random generators are rewound before every
    forward, so dropout draws the same mask each time). The scalar differenced is
    sum(out * dout), with dout random unless given. Rows are named after forward's parameters.

        check_pair(F.linear_forward, F.linear_backward, x, weight, bias)
    """
    rng = rng if rng is not None else np.random.default_rng(0)
    args = [np.array(a, dtype=np.float64, order="C") if _float_array(a) else a for a in inputs]
    generators = [(g, g.bit_generator.state) for g in args if isinstance(g, np.random.Generator)]
    last = SimpleNamespace(_cache=None)       # the latest forward's cache: its kinks fingerprint

    def run():
        for generator, state in generators:
            generator.bit_generator.state = state
        out, last._cache = forward(*args)
        return out

    out = run()
    dout = (np.asarray(rng.standard_normal(np.shape(out))) if dout is None
            else np.asarray(dout, np.float64))
    grads = backward(dout.copy(), last._cache)
    grads = tuple(grads) if isinstance(grads, tuple | list) else (grads,)
    if len(grads) > len(args) or any(_float_array(a) for a in args[len(grads):]):
        raise ValueError(f"backward returned {len(grads)} gradient(s) for {len(args)} input(s): "
                         "return one per float array input (None where there is none); only "
                         "trailing options (p, rng, labels) may be left out")
    grads += (None,) * (len(args) - len(grads))
    names = _parameter_names(forward, len(args))
    arrays = []
    for name, a, g in zip(names, args, grads, strict=True):
        if g is None or not _float_array(a):
            continue
        if np.shape(g) != a.shape:
            raise ValueError(f"backward's gradient for {name} has shape {np.shape(g)}, "
                             f"expected {a.shape}")
        arrays.append((name, a, np.asarray(g)))
    report = _check_arrays(lambda: np.asarray(run()) * dout, arrays, max_checks, rng, eps,
                           _decisions(last))
    run()
    return report


def _float_array(value) -> bool:
    return isinstance(value, np.ndarray) and value.dtype.kind == "f"


def _parameter_names(function: Callable, count: int) -> list[str]:
    """The names of the first `count` positional parameters, "input i" where there are none."""
    try:
        params = [p.name for p in inspect.signature(function).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):               # builtins without a signature
        params = []
    return [params[i] if i < len(params) else f"input {i}" for i in range(count)]
