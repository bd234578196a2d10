"""Helpers of the serve tests: a `scratchnn serve` subprocess, files in memory."""

from __future__ import annotations

import io
import re
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image


def png(array: np.ndarray, mode: str | None = None) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array, mode).save(buffer, format="PNG")
    return buffer.getvalue()


def npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


class Server:
    """`scratchnn serve RUN --port 0` in a subprocess, as a user starts it."""

    def __init__(self, run: Path, log: Path, *extra: str) -> None:
        self.log = log
        self.process = subprocess.Popen(
            [sys.executable, "-m", "scratchnn", "serve", str(run), "--port", "0", *extra],
            stdout=subprocess.PIPE, stderr=open(log, "wb"), text=True)
        self.first_line = self.process.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:\d+/", self.first_line)
        assert found, f"no URL in {self.first_line!r}; stderr: {log.read_text()}"
        self.url = found.group(0)

    def interrupt(self, timeout: float = 20) -> tuple[int, str, str]:
        """Ctrl-C: (exit status, rest of stdout, stderr)."""
        self.process.send_signal(signal.SIGINT)
        out, _ = self.process.communicate(timeout=timeout)
        return self.process.returncode, out, self.log.read_text()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()
