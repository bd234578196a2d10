"""The two course examples run start to finish (on scikit-learn's digits, briefly) and write
their plots."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize("script, args, pictures", [
    ("cs231n_fc_net.py", ["--epochs", "1"], ["training.png", "weights.png"]),
    ("dlfs_two_layer_net.py", ["--iters", "30"], ["accuracy.png"]),
])
def test_course_example_runs(tmp_path, script, args, pictures):
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, str(EXAMPLES / script), "--dataset", "digits",
                             "--out", str(out), *args], capture_output=True, text=True,
                            timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for picture in pictures:
        assert (out / picture).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "accuracy" in result.stdout or "acc" in result.stdout
