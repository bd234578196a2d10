"""Shared fixtures: a seeded generator, torch (a test-only dependency) limited to 2 threads, and
Ctrl-C enabled for the tests that send SIGINT."""

from __future__ import annotations

import signal

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture(scope="session")
def torch():
    import torch  # the dev extra pins torch==2.13.0 (CPU); a missing torch is an error, not a skip

    torch.set_num_threads(2)
    return torch


@pytest.fixture
def ctrl_c_enabled():
    """Ctrl-C as in a terminal, even when the test runner was started with SIGINT ignored (a
    background job); for tests that send SIGINT to this process."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)
