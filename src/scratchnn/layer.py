"""Layer, the base of every layer and model, and Sequential, a chain of layers."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from scratchnn.errors import ConfigError, ShapeError
from scratchnn.parameter import Parameter


def check_float_input(layer: Layer, x: np.ndarray) -> None:
    """Refuse integer inputs (raw uint8 pixels overflow and are 255x too large)."""
    if not isinstance(x, np.ndarray) or x.dtype.kind != "f":
        kind = x.dtype if isinstance(x, np.ndarray) else type(x).__name__
        raise ShapeError(f"{type(layer).__name__} expects a floating-point ndarray, got {kind} "
                         "(convert and scale images first, e.g. x.astype(np.float32) / 255)")


class Layer:
    """Base class: `forward(x)` computes the output, `backward(dout)` returns dx and accumulates
    each Parameter's gradient.

    `backward_params(dout)` is backward for a layer whose input is the data: only the parameter
    gradients are wanted. By default it calls backward and drops dx, so a layer written with
    forward and backward alone works everywhere; Linear and Conv2d skip computing dx.

    Parameters and child layers are found by walking the instance's attributes in the order they
    were set; non-trainable arrays to save (batch-norm running statistics) are named in `buffers`.
    Layers start in train mode; `forward` caches what `backward` needs only in train mode.
    """

    buffers: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.training = True
        self._cache = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self, dout: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward_params(self, dout: np.ndarray) -> None:
        """Accumulate the parameter gradients of backward(dout); the input gradient is not
        needed (the Trainer calls this on the model: its input is the data)."""
        self.backward(dout)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

    def _saved(self):
        """The cache of the last train-mode forward; a clear error when there is none."""
        if self._cache is None:
            raise RuntimeError(f"{type(self).__name__}.backward called without a preceding "
                               "forward in train mode")
        return self._cache

    # -- traversal --------------------------------------------------------------------------

    def children(self) -> Iterator[tuple[str, Layer]]:
        """Direct child layers as (name, layer), in the order they were set."""
        for name, value in vars(self).items():
            if isinstance(value, Layer):
                yield name, value

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """Every Parameter below this layer as ("0.weight", p), own parameters first."""
        for name, value in vars(self).items():
            if isinstance(value, Parameter):
                yield prefix + name, value
            elif isinstance(value, Layer):
                yield from value.named_parameters(f"{prefix}{name}.")

    def parameters(self) -> list[Parameter]:
        return [p for _, p in self.named_parameters()]

    def modules(self) -> Iterator[Layer]:
        """This layer and every layer below it, depth first."""
        yield self
        for _, child in self.children():
            yield from child.modules()

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = None

    # -- modes --------------------------------------------------------------------------------

    def train(self, mode: bool = True) -> Layer:
        for layer in self.modules():
            layer.training = mode
            if not mode:
                layer._cache = None
        return self

    def eval(self) -> Layer:
        return self.train(False)

    # -- state ----------------------------------------------------------------------------------

    def state_dict(self, prefix: str = "") -> dict[str, np.ndarray]:
        """Parameters and buffers by dotted name, e.g. {"0.weight": ..., "2.running_mean": ...}."""
        state = {}
        for name, value in vars(self).items():
            if isinstance(value, Parameter):
                state[prefix + name] = value.data
            elif isinstance(value, Layer):
                state.update(value.state_dict(f"{prefix}{name}."))
        for name in self.buffers:
            state[prefix + name] = getattr(self, name)
        return state

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Copy arrays into this layer; missing, extra or mis-shaped entries are an error."""
        own = self.state_dict()
        missing, unexpected = own.keys() - state.keys(), state.keys() - own.keys()
        if missing or unexpected:
            raise ShapeError(f"state_dict mismatch: missing {sorted(missing)}, "
                             f"unexpected {sorted(unexpected)}")
        for key, target in own.items():
            if np.shape(state[key]) != target.shape:
                raise ShapeError(f"state_dict entry {key!r} has shape {np.shape(state[key])}, "
                                 f"expected {target.shape}")
        for key, value in state.items():
            owner, _, attr = self._locate(key)
            current = getattr(owner, attr)
            array = np.array(value, dtype=_dtype_of(current))
            if isinstance(current, Parameter):
                current.data = array
            else:
                setattr(owner, attr, array)

    def _locate(self, key: str) -> tuple[Layer, str, str]:
        owner, *path = self, *key.split(".")
        for name in path[:-1]:
            owner = getattr(owner, name)
        return owner, key, path[-1]

    def to_dtype(self, dtype) -> Layer:
        """Cast every parameter and buffer to `dtype` (float64 for gradient checks); return self."""
        for layer in self.modules():
            for value in vars(layer).values():
                if isinstance(value, Parameter):
                    value.data = value.data.astype(dtype)
                    value.grad = None
            for name in layer.buffers:
                setattr(layer, name, getattr(layer, name).astype(dtype))
        return self

    def num_parameters(self) -> int:
        return sum(p.data.size for p in self.parameters())

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        children = list(self.children())
        if not children:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"  ({name}): {repr(child)}".replace("\n", "\n  ") for name, child in children]
        return f"{type(self).__name__}(\n" + "\n".join(lines) + "\n)"


def _dtype_of(current) -> np.dtype:
    return current.data.dtype if isinstance(current, Parameter) else current.dtype


class Sequential(Layer):
    """Layers applied one after another; backward runs them in reverse. Children: "0", "1", ...

    >>> import numpy as np
    >>> from scratchnn.layers import Linear, ReLU
    >>> rng = np.random.default_rng(0)
    >>> model = Sequential(Linear(4, 8, rng=rng), ReLU(), Linear(8, 3, rng=rng))
    >>> model(np.ones((2, 4), np.float32)).shape
    (2, 3)
    >>> list(model.state_dict())
    ['0.weight', '0.bias', '2.weight', '2.bias']
    """

    def __init__(self, *layers: Layer) -> None:
        super().__init__()
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"Sequential takes Layers, got {type(layer).__name__} at {i}")
            if any(layer is earlier for earlier in layers[:i]):
                # a second forward would overwrite the first one's cache: wrong gradients
                raise ConfigError(f"Sequential: layer {i} ({type(layer).__name__}) is the same "
                                  "object as an earlier layer; create a new layer for each place")
            setattr(self, str(i), layer)

    def __len__(self) -> int:
        return sum(1 for _ in self.children())

    def __getitem__(self, index: int) -> Layer:
        """The layer at `index`; negative indices count from the end, as for lists."""
        count = len(self)
        if not -count <= index < count:
            raise IndexError(f"Sequential index {index} out of range for {count} layers")
        return getattr(self, str(index % count))

    def __iter__(self) -> Iterator[Layer]:
        return (layer for _, layer in self.children())

    def forward(self, x: np.ndarray) -> np.ndarray:
        for name, layer in self.children():
            try:
                x = layer.forward(x)
            except ShapeError as error:
                raise ShapeError(f"layer {name} ({type(layer).__name__}): {error}") from None
        return x

    def backward(self, dout: np.ndarray) -> np.ndarray:
        for layer in reversed(list(self)):
            dout = layer.backward(dout)
        return dout

    def backward_params(self, dout: np.ndarray) -> None:
        """backward without the gradient for the input: the layers before the first one with
        parameters are not run at all, and that one gets backward_params."""
        layers = list(self)
        first = next((i for i, layer in enumerate(layers) if layer.parameters()), len(layers))
        for layer in reversed(layers[first + 1:]):
            dout = layer.backward(dout)
        if first < len(layers):
            layers[first].backward_params(dout)
