"""The doctor's tests train many small models on batches of 32: one BLAS thread each (more only
spin against each other on a shared 2-core machine, up to ten times slower)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True, scope="session")
def one_blas_thread():
    from threadpoolctl import threadpool_limits  # scikit-learn's dependency (dev extra)

    with threadpool_limits(limits=1):
        yield
