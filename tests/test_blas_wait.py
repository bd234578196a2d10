"""OPENBLAS_THREAD_TIMEOUT: set by `import scratchnn` before NumPy loads OpenBLAS, never over a
user's value, and not at all once NumPy is loaded (OpenBLAS has read its settings by then)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from scratchnn._blas_wait import DEFAULT, VARIABLE

SHOW = f"import os; print(os.environ.get({VARIABLE!r}, 'unset'))"


def run(code: str, **env: str) -> str:
    environ = {k: v for k, v in os.environ.items() if k != VARIABLE}
    done = subprocess.run([sys.executable, "-c", code], env={**environ, **env},
                          capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.mark.parametrize("code, expected", [
    (f"import scratchnn; {SHOW}", DEFAULT),
    (f"import scratchnn, numpy; {SHOW}", DEFAULT),
    (f"import numpy, scratchnn; {SHOW}", "unset"),
])
def test_import_scratchnn_sets_the_blas_wait_only_before_numpy(code, expected):
    assert run(code) == expected


def test_a_users_value_is_kept():
    assert run(f"import scratchnn; {SHOW}", **{VARIABLE: "30"}) == "30"

