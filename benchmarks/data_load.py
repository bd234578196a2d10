"""Time to load all of Fashion-MNIST from its four .gz IDX files (median of 3; target < 2 s).

    python benchmarks/data_load.py
"""

from __future__ import annotations

import statistics
import time

import scratchnn.data as data
from scratchnn.errors import DataError


def main() -> None:
    try:
        directory = data.registry.find("fashion-mnist")
        if directory is None:
            data.load("fashion-mnist")  # raises the message that says how to get it
    except DataError as error:
        print(f"skipped: {error}")
        return
    seconds = []
    for _ in range(3):
        started = time.perf_counter()
        dataset = data.load("fashion-mnist")
        seconds.append(time.perf_counter() - started)
    print(f"{dataset!r} from {directory}")
    print(f"load: {statistics.median(seconds):.3f} s (median of 3: "
          f"{', '.join(f'{s:.3f}' for s in seconds)})")


if __name__ == "__main__":
    main()
