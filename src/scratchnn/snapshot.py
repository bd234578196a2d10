"""Snapshots of a model's mutable state: parameters, buffers (batch-norm running statistics) and
random generators (dropout), put back exactly.

    state = ModelState(model)            # finds the layers once
    saved = state.save()
    ...                                  # forward passes, dropout draws, statistics updates
    state.restore(saved)

Generators are rewound in place, never replaced: layers that share one generator keep sharing
it and draw the same numbers in the same order. Used by gradcheck (between evaluations), the
divergence guard (to undo a step) and checkpoints (the generators and how they are shared).

NumPy only, like gradcheck: a model is anything with modules() (each with a `buffers` tuple of
attribute names and np.random.Generator attributes) and parameters() (each with `.data`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np


def generators(model) -> Iterator[tuple[str, str, np.random.Generator]]:
    """Every np.random.Generator a layer of `model` holds, depth first, as (layer path like "3",
    "" for the model itself, attribute name, generator). A generator shared by several layers is
    listed once per layer."""
    def walk(layer, path: str):
        for name, value in vars(layer).items():
            if isinstance(value, np.random.Generator):
                yield path, name, value
        for name, child in layer.children() if hasattr(layer, "children") else ():
            yield from walk(child, f"{path}.{name}" if path else name)
    return walk(model, "")


class ModelState:
    """The state of `model` that forward and backward passes change besides the gradients:
    buffers, generators, and (parameters=True) the parameters' values."""

    def __init__(self, model, *, parameters: bool = False) -> None:
        modules = list(model.modules()) if hasattr(model, "modules") else [model]
        self.parameters = list(model.parameters()) if parameters else []
        self.buffers = [(layer, name) for layer in modules
                        for name in getattr(layer, "buffers", ())]
        self.generators: list[np.random.Generator] = []
        self.owners: list[list] = []     # [layer path, attribute, index into self.generators]
        index: dict[int, int] = {}
        for path, attr, generator in generators(model):
            if id(generator) not in index:
                index[id(generator)] = len(self.generators)
                self.generators.append(generator)
            self.owners.append([path, attr, index[id(generator)]])

    def save(self) -> tuple[list[np.ndarray], list[np.ndarray], list[dict]]:
        """-> (parameter copies, buffer copies, generator states)."""
        return ([p.data.copy() for p in self.parameters],
                [np.array(getattr(layer, name), copy=True) for layer, name in self.buffers],
                self.generator_states())

    def restore(self, saved: tuple[list[np.ndarray], list[np.ndarray], list[dict]]) -> None:
        params, buffers, states = saved
        for p, value in zip(self.parameters, params, strict=True):
            p.data = value.copy()
        for (layer, name), value in zip(self.buffers, buffers, strict=True):
            setattr(layer, name, value.copy())
        self.set_generator_states(states)

    def generator_states(self) -> list[dict]:
        """The bit-generator state of each distinct generator (JSON-able but for NumPy ints)."""
        return [g.bit_generator.state for g in self.generators]

    def check_generator_states(self, states: list, owners: list) -> None:
        """ValueError unless generator_states() and owners saved from another model fit this
        one: its generators shared between the same layers, of the same kinds, valid states."""
        if owners != self.owners or len(states) != len(self.generators):
            raise ValueError(f"the model's random generators {self.owners} do not match the "
                             f"saved {owners} ([layer, attribute, generator])")
        for generator, state in zip(self.generators, states, strict=True):
            kind = type(generator.bit_generator)
            if not isinstance(state, dict) or state.get("bit_generator") != kind.__name__:
                raise ValueError(f"a saved generator state is not a {kind.__name__}'s")
            try:
                kind().state = state                  # try it on a spare generator
            except (KeyError, TypeError, ValueError) as error:
                raise ValueError(f"malformed generator state ({error!r})") from None

    def set_generator_states(self, states: list[dict]) -> None:
        for generator, state in zip(self.generators, states, strict=True):
            generator.bit_generator.state = state


def freeze(model) -> Callable[[], None]:
    """Snapshot buffers and generators now -> a function that puts them back (every call)."""
    state = ModelState(model)
    saved = state.save()
    return lambda: state.restore(saved)
