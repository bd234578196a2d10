"""Ctrl-C during training: finish the step, save a checkpoint, then stop.

A KeyboardInterrupt raised in the middle of a step could leave half of the parameters updated.
While training runs, the first Ctrl-C (SIGINT) therefore only raises a flag; the Trainer looks at
it between steps, saves a checkpoint and raises TrainingInterrupted. A second Ctrl-C interrupts
at once (the last complete checkpoint on disk stays as it was).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


class TrainingInterrupted(KeyboardInterrupt):
    """Training stopped for Ctrl-C between two steps; `checkpoint` is the directory holding the
    checkpoint saved then (None when the trainer has no checkpoint directory)."""

    def __init__(self, message: str, checkpoint: Path | None = None) -> None:
        super().__init__(message)
        self.checkpoint = checkpoint


@contextmanager
def deferred_interrupt() -> Iterator[Callable[[], bool]]:
    """Within the block, a first SIGINT sets a flag (read it with the yielded function) instead
    of raising; a second raises KeyboardInterrupt. Outside the main thread, or when SIGINT is
    ignored (a background job), nothing changes and the flag stays False."""
    if threading.current_thread() is not threading.main_thread():
        yield lambda: False
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous is signal.SIG_IGN:
        yield lambda: False
        return
    pressed = []

    def handler(signum, frame) -> None:
        if pressed:
            raise KeyboardInterrupt
        pressed.append(True)

    signal.signal(signal.SIGINT, handler)
    try:
        yield lambda: bool(pressed)
    finally:
        signal.signal(signal.SIGINT, previous if previous is not None
                      else signal.default_int_handler)
