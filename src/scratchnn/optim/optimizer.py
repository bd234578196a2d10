"""Optimizer: the base class. Per-parameter state lives in `self.state`, aligned by index with
`self.params`, in torch's slot names; subclasses write one method, `update(param, grad, state)`."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from scratchnn.errors import ConfigError, ShapeError
from scratchnn.parameter import Parameter


class Optimizer:
    """Base class. `step()` updates every Parameter that has a gradient; `zero_grad()` clears them.

    `lr` is public: a trainer or schedule may set it before each step. State is created lazily on a
    parameter's first update. `state_dict()` is flat and npz-safe: {"lr": array(0.001),
    "3.exp_avg": array, "3.step": array(5)}.
    """

    def __init__(self, params: Iterable[Parameter], lr: float) -> None:
        self.params: list[Parameter] = list(params)
        if not self.params:
            raise ConfigError("optimizer got an empty parameter list")
        if not lr >= 0.0:
            raise ConfigError(f"Invalid learning rate: {lr}")
        self.lr = lr
        self.state: list[dict] = [{} for _ in self.params]
        self.slots: tuple[str, ...] = ()       # the state a parameter holds after its first update

    @property
    def lr(self) -> float:
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        # A Python float on purpose: a NumPy float64 scalar would make float32 updates float64.
        self._lr = float(value)

    def step(self) -> None:
        """Update every parameter whose grad is not None (a frozen or unused one is skipped)."""
        for param, state in zip(self.params, self.state, strict=True):
            if param.grad is not None:
                self.update(param, param.grad, state)

    def update(self, param: Parameter, grad: np.ndarray, state: dict) -> None:
        """Change `param.data` in place using `grad`; read and write the parameter's `state`."""
        raise NotImplementedError

    def zero_grad(self) -> None:
        for param in self.params:
            param.grad = None

    # -- state ----------------------------------------------------------------------------------

    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of lr and every slot as {"lr": array, "<index>.<slot>": array}."""
        out = {"lr": np.array(self.lr)}
        for i, state in enumerate(self.state):
            for slot, value in state.items():
                out[f"{i}.{slot}"] = np.array(value)        # np.array copies
        return out

    def load_state_dict(self, state_dict: dict[str, np.ndarray]) -> None:
        """Restore lr and state exactly; a mismatch raises before anything is changed."""
        if "lr" not in state_dict:
            raise ConfigError("optimizer state_dict has no 'lr' entry")
        loaded: list[dict] = [{} for _ in self.params]
        for key, value in state_dict.items():
            if key == "lr":
                continue
            index, _, slot = key.partition(".")
            if not index.isdigit() or slot not in self.slots:
                raise ConfigError(f"unexpected key {key!r} in {type(self).__name__} state_dict "
                                  f"(slots: {', '.join(self.slots) or 'none'})")
            if int(index) >= len(self.params):
                raise ConfigError(f"state_dict has state for parameter {index}, but the optimizer "
                                  f"has {len(self.params)} parameters")
            loaded[int(index)][slot] = value
        for i, (param, state) in enumerate(zip(self.params, loaded, strict=True)):
            if state and state.keys() != set(self.slots):
                raise ConfigError(f"state for parameter {i} has slots {sorted(state)}, "
                                  f"expected {sorted(self.slots)}")
            for slot, value in state.items():
                expected = () if slot == "step" else param.data.shape
                if np.shape(value) != expected:
                    raise ShapeError(f"state_dict entry '{i}.{slot}' has shape {np.shape(value)},"
                                     f" expected {expected}")
                state[slot] = int(value) if slot == "step" else np.array(value, param.data.dtype)
        self.lr = float(state_dict["lr"])
        self.state = loaded

    def __repr__(self) -> str:
        return f"{type(self).__name__}(lr={self.lr}, {len(self.params)} parameters)"
