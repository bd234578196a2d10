"""Fixtures for the ONNX tests: onnx and onnxruntime are test dependencies (the dev extra)."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="session")
def ort():
    import onnxruntime

    return onnxruntime


@pytest.fixture
def run_onnx(ort):
    """run_onnx(path, x) -> {output name: array}, computed by onnxruntime on one thread."""
    def run(path, x: np.ndarray) -> dict[str, np.ndarray]:
        options = ort.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        names = [o.name for o in session.get_outputs()]
        return dict(zip(names, session.run(None, {session.get_inputs()[0].name: x}),
                        strict=True))
    return run
