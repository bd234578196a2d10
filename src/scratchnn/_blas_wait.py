"""How long OpenBLAS's idle threads wait for work before they sleep, set before NumPy loads it.

After each matrix product OpenBLAS's worker threads keep polling for the next one for
2**OPENBLAS_THREAD_TIMEOUT CPU cycles, 2**28 (about 0.1 s) by default, and so hold a core that
scratchnn's own thread pool (parallel.py) needs for the passes between products: batch norm,
ReLU, pooling, im2col. 2**18 cycles (about 0.1 ms) keeps them awake between back-to-back
products and frees the core soon after. Measured: docs/convnets.md.

OpenBLAS reads the variable once, when it is loaded, so this works only when scratchnn is
imported before NumPy (the `scratchnn` command always is; a program can `import scratchnn`
first or set the variable itself). A value the user set is never changed. Child processes (a
sweep's workers) inherit it.
"""

import os
import sys

VARIABLE = "OPENBLAS_THREAD_TIMEOUT"
DEFAULT = "18"


def set_default() -> bool:
    """Set VARIABLE to DEFAULT unless set or NumPy is already loaded; True if it is in force."""
    if "numpy" in sys.modules:
        return False
    os.environ.setdefault(VARIABLE, DEFAULT)
    return True
