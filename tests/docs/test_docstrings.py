"""Every docstring example (>>>) in the library runs and prints what it shows."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import scratchnn

MODULES = sorted(info.name for info in pkgutil.walk_packages(scratchnn.__path__, "scratchnn.")
                 if not info.name.endswith("__main__"))
KEY_CLASSES = ("scratchnn.layer.Sequential", "scratchnn.layers.dense.Linear",
               "scratchnn.train.trainer.Trainer", "scratchnn.losses.SoftmaxCrossEntropy")


def examples(module_name: str) -> list[doctest.DocTest]:
    module = importlib.import_module(module_name)
    return [test for test in doctest.DocTestFinder().find(module) if test.examples]


@pytest.mark.parametrize("module_name", MODULES)
def test_docstring_examples_run(module_name):
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in examples(module_name):
        runner.run(test)
    assert runner.failures == 0, f"{runner.failures} of {runner.tries} examples in {module_name}"


def test_the_key_classes_have_examples():
    found = {test.name for name in {k.rsplit(".", 1)[0] for k in KEY_CLASSES}
             for test in examples(name)}
    assert set(KEY_CLASSES) <= found
