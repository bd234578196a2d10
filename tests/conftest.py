"""Shared fixtures: a seeded generator, and torch (a test-only dependency) limited to 2 threads."""

from __future__ import annotations

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
