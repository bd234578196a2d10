"""A newcomer's first hour (issue 17), replayed through the real command line: every command a
fresh process (`python -m scratchnn` and the installed `scratchnn` script), the bad inputs and
the good ones. For every command: no traceback, the documented exit code (0 success, 2 bad
input, 130 Ctrl-C; a SIGINT that lands while Python itself starts is a death by SIGINT, which a
shell shows as 130 too); at the end no stray run folder and no run overwritten.

Independent commands run two or three at a time (threads, each waiting on its process).
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

FAST = ["--dataset", "digits", "--n-train", "200", "--epochs", "1"]
SCRIPT = Path(sys.executable).parent / "scratchnn"
SUBCOMMANDS = ("train", "evaluate", "predict", "report", "compare", "doctor", "experiment",
               "datasets", "gradcheck", "sweep", "export", "serve")


def env() -> dict[str, str]:
    return {**os.environ, "MPLBACKEND": "Agg", "SCRATCHNN_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "COLUMNS": "100"}


def cli(*args, script: bool = False) -> list[str]:
    return ([str(SCRIPT)] if script else [sys.executable, "-m", "scratchnn"]) + list(map(str,
                                                                                         args))


def run(where: Path, *args, script: bool = False, timeout: float = 300):
    return subprocess.run(cli(*args, script=script), cwd=where, env=env(), capture_output=True,
                          text=True, timeout=timeout)


def check(result, code: int, *needles: str) -> None:
    """Exit code as documented, no traceback, the needles in the output; an error is one line
    on stderr (an argparse error adds where to read more)."""
    output = result.stdout + result.stderr
    command = " ".join(result.args[2:] if result.args[1] == "-m" else result.args[1:])
    assert "Traceback" not in output, f"{command}\n{output}"
    assert result.returncode == code, f"{command}: exit {result.returncode}\n{output}"
    words = " ".join(output.split())              # help text wraps where it likes
    for needle in needles:
        assert needle in words, f"{command}: {needle!r} not in\n{output}"
    if code == 2:
        lines = [line for line in result.stderr.splitlines()
                 if not line.startswith(("see scratchnn", "scratchnn: warning"))]
        assert len(lines) == 1 and lines[0].startswith("scratchnn"), f"{command}\n{output}"


def digest(directory: Path) -> dict[str, str]:
    return {str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.rglob("*")) if p.is_file()}


def interrupt_after(where: Path, args, line: str | None, delay: float = 0.0):
    """Start a command, send SIGINT after `delay` s or once `line` shows on stdout."""
    process = subprocess.Popen(cli(*args), cwd=where, env=env(), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    seen = []
    if line is None:
        time.sleep(delay)
    else:
        for text in process.stdout:
            seen.append(text)
            if line in text:
                break
    process.send_signal(signal.SIGINT)
    rest, err = process.communicate(timeout=300)
    return subprocess.CompletedProcess(process.args, process.returncode, "".join(seen) + rest,
                                       err)


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    """A working directory with a few input files a newcomer would try."""
    where = tmp_path_factory.mktemp("newcomer")
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)).save(where / "photo.png")
    Image.fromarray(np.full((8, 8), 16, np.uint8)).save(where / "digit.png")
    np.save(where / "ok.npy", rng.integers(0, 17, (3, 1, 8, 8)).astype(np.float32))
    nan = np.zeros((2, 1, 8, 8), np.float32)
    nan[1, 0, 3, 3] = np.nan
    np.save(where / "nan.npy", nan)
    np.save(where / "inf.npy", np.full((1, 8, 8), np.inf, np.float32))
    np.save(where / "wrong.npy", np.zeros((5, 5), np.float32))
    x28 = rng.integers(0, 256, (40, 1, 28, 28), dtype=np.uint8)
    np.savez(where / "big.npz", x_train=x28[:30], y_train=np.arange(30) % 10,
             x_test=x28[30:], y_test=np.arange(10) % 10)
    x8 = rng.integers(0, 17, (60, 1, 8, 8), dtype=np.uint8)
    np.savez(where / "oneclass.npz", x_train=x8[:40], y_train=np.zeros(40, np.int64),
             x_test=x8[40:], y_test=np.zeros(20, np.int64))
    (where / "bad_columns.csv").write_text("label,a,b\n1,2,3\n1,2,3\n0,4\n")
    (where / "bad_value.csv").write_text("label,a,b\n1,2,3\n0,x,4\n")
    (where / "typo.toml").write_text("learning_rate = 0.01\n")
    (where / "bad.toml").write_text("lr = [\n")
    (where / "notes.txt").write_text("mine\n")
    (where / "mine").mkdir()
    (where / "mine" / "thesis.tex").write_text("do not lose me\n")
    return where


def test_a_newcomers_session(home):
    started = time.perf_counter()
    commands = 0

    def many(batch, workers: int = 3):
        nonlocal commands
        commands += len(batch)
        with ThreadPoolExecutor(workers) as pool:
            results = list(pool.map(lambda c: (c, run(home, *c[0], script=c[3])), batch))
        for (_, code, needles, _), result in results:
            check(result, code, *needles)
        return [result for _, result in results]

    def one(*args, code: int = 0, needles: tuple[str, ...] = (), script: bool = False):
        return many([(args, code, needles, script)], 1)[0]

    # -- the first runs: a finished one, and one stopped by Ctrl-C after its first epoch
    first = one("train", *FAST, "--out", "runs/f2", script=True)
    assert first.stdout.index("run directory: runs/f2") < first.stdout.index("test accuracy")
    assert "wall time:" in first.stdout and "training alone" in first.stdout
    assert "wrote runs/f2/report.html" in first.stdout
    assert "\r" not in first.stderr + first.stdout                      # no bar in logs
    assert first.stdout.count("epoch   1") == 1                           # one line per epoch
    finished = digest(home / "runs/f2")
    report = (home / "runs/f2/report.html").read_text()
    for needle in ("scratchnn train --dataset digits", "scratchnn doctor runs/f2", "precision",
                   "recall", "learning rate", "scikit-learn", "training time (sum of the "
                   "epochs)", "trained</th>"):
        assert needle in report, needle
    commands += 1
    stopped = interrupt_after(home, ["train", "--dataset", "digits", "--n-train", "200",
                                     "--epochs", "3", "--out", "runs/half"], "epoch   1")
    check(stopped, 130, "training interrupted", "resume with: scratchnn train --resume "
          "runs/half")
    unfinished = digest(home / "runs/half")

    # -- bad inputs, three at a time: each one line, exit 2, nothing written
    bad = [
        (("train", *FAST, "--out", "runs/f2"), 2, ("already holds a finished run",
                                                   "--resume runs/f2", "--overwrite"), False),
        (("train", *FAST, "--out", "runs/half"), 2, ("an unfinished run", "--resume runs/half"),
         False),
        (("train", *FAST, "--out", "notes.txt"), 2, ("a file, not a directory",), False),
        (("train", *FAST, "--out", "mine"), 2, ("not a run's (thesis.tex)",), False),
        (("train", *FAST, "--out", "mine", "--overwrite"), 2, ("not a run's",), False),
        (("train", *FAST, "--model", "mpl", "--out", "runs/x1"), 2,
         ("unknown model 'mpl' (did you mean 'mlp'?); valid:",), False),
        (("train", *FAST, "--optimizer", "adma", "--out", "runs/x2"), 2,
         ("unknown optimizer 'adma' (did you mean 'adam'?)",), False),
        (("train", *FAST, "--schedule", "cosin", "--out", "runs/x3"), 2,
         ("did you mean 'cosine'",), False),
        (("train", *FAST, "--activation", "rleu", "--out", "runs/x4"), 2,
         ("did you mean 'relu'",), False),
        (("train", *FAST, "--dropout", "1.5", "--out", "runs/x5"), 2, ("dropout",), False),
        (("train", *FAST, "--val-fraction", "0.001", "--out", "runs/x6"), 2,
         ("the validation set is empty",), False),
        (("train", *FAST, "--lr", "1e6", "--out", "runs/x7"), 2,
         ("training diverged", "lower the learning rate"), False),
        (("train", *FAST, "--epochs", "1000000000000", "--out", "runs/x8"), 2,
         ("would never finish",), False),
        (("train", *FAST, "--epochs", "0"), 2, ("epochs must be a positive integer",), False),
        (("train", *FAST, "--n-train", "0", "--out", "runs/x9"), 2,
         ("n_train must be a positive integer",), False),
        (("train", *FAST, "--image-size", "8x8", "--out", "runs/x10"), 2,
         ("image_size applies only to folders of images",), False),
        (("train", "--image-size", "8y8"), 2, ("expected integers like 28,28",
                                               "see scratchnn train --help"), False),
        (("train", "--epochs", "many"), 2, ("invalid int value: 'many'",
                                            "see scratchnn train --help"), False),
        (("train", "--lr"), 2, ("expected one argument",), False),
        (("train", "--learning-rate", "0.1"), 2, ("unrecognized arguments",), False),
        (("train", "--config", "typo.toml"), 2, ("unknown config key 'learning_rate' (did you "
                                                 "mean 'lr'?)",), False),
        (("train", "--config", "bad.toml"), 2, ("invalid TOML",), False),
        (("train", "--config", "missing.toml"), 2, ("config file not found",), False),
        (("train", "--dataset", "fashoin-mnist", "--out", "runs/x11"), 2,
         ("did you mean 'fashion-mnist'",), False),
        (("train", "--dataset", "nowhere.npz", "--out", "runs/x12"), 2, ("no such file",),
         False),
        (("train", "--dataset", "bad_columns.csv", "--out", "runs/x13"), 2,
         ("line 4 has 2 columns",), False),
        (("train", "--dataset", "bad_value.csv", "--out", "runs/x14"), 2,
         ("line 3, column 2: 'x' is not a number",), False),
        (("train", "--resume", "runs/nothing"), 2, ("no such run directory",), False),
        (("train", "--resume", "runs/half", "--lr", "0.1"), 2, ("drop --lr",), False),
        (("train", "--resume", "runs/half", "--overwrite"), 2, ("drop --overwrite",), False),
        (("trian",), 2, ("unknown command 'trian' (did you mean 'train'?)",), True),
        (("train", "--modle", "mlp"), 2, ("unrecognized arguments",), False),
        (("evaluate", "runs/nonexistent"), 2, ("runs/nonexistent: no such run directory",),
         False),
        (("evaluate", "runs/nonexistent/model.npz"), 2, ("no such model file",), False),
        (("evaluate", "runs/half"), 2, ("the run has not finished", "--resume runs/half"),
         False),
        (("evaluate", "runs/f2", "--dataset", "big.npz"), 2,
         ("this model was trained on 1x8x8 inputs (digits)", "big.npz's are 1x28x28"), False),
        (("evaluate", "mine"), 2, ("not a run directory",), False),
        (("predict", "runs/f2", "nan.npy"), 2, ("NaN or infinite",), False),
        (("predict", "runs/f2", "inf.npy"), 2, ("NaN or infinite",), False),
        (("predict", "runs/f2", "wrong.npy"), 2, ("does not fit the model's input",), False),
        (("predict", "runs/f2", "absent.png"), 2, ("absent.png: no such file",), False),
        (("predict", "runs/f2", "notes.txt"), 2, ("not a readable image",), False),
        (("predict", "runs/f2", "ok.npy", "--top-k", "0"), 2, ("--top-k must be a positive",),
         False),
        (("predict", "runs/f2"), 2, ("the following arguments are required: FILE",), False),
        (("report", "runs/nonexistent"), 2, ("no such run directory",), False),
        (("report", "runs/f2", "--dataset", "big.npz"), 2, ("trained on 1x8x8",), False),
        (("compare", "runs/f2", "runs/nonexistent"), 2, ("no such run directory",), False),
        (("gradcheck", "--model", "nope"), 2, ("unknown model 'nope'",), False),
        (("gradcheck", "--batch", "0"), 2, ("--batch must be a positive integer",), False),
        (("export", "runs/nonexistent"), 2, ("runs/nonexistent",), False),
        (("serve", "runs/nonexistent", "--port", "0"), 2, ("runs/nonexistent",), False),
        (("doctor", "runs/nonexistent"), 2, ("runs/nonexistent",), False),
        (("experiment", "nosuch"), 2, ("unknown command 'nosuch'",), False),
        (("sweep", "absent.toml"), 2, ("absent.toml",), False),
    ]
    many(bad)

    # -- help that teaches: every subcommand has examples and defaults; --version
    helps = [(("--help",), 0, ("predict", "compare", "report", "experiment", "examples:"),
              True),
             (("--version",), 0, ("scratchnn 0.",), True),
             (("train", "--help"), 0, ("(default: adam)", "(default: 0.001)", "(default: 128)",
                                       "(default: cosine)", "(default: 0.1)", "--overwrite",
                                       "--quiet", "examples:"), False),
             (("train", "--print-config"), 0, ("early_stopping = 0", "keep_best = true",
                                               "warmup_epochs = 0.0", "# weight_init ="),
              False),
             (("predict", "--help"), 0, ("FILE", "an image (PNG, JPEG, ...) or a .npy",
                                         "(default: 3)"), False)]
    helps += [((name, "--help"), 0, ("examples:", f"scratchnn {name} "), False)
              for name in SUBCOMMANDS if name not in ("train", "predict")]
    many(helps)

    # -- good inputs, loosely written: upper case, a batch larger than the data, one class
    results = many([
        (("train", "--dataset", "DIGITS", "--model", "MLP", "--optimizer", "Adam", "--schedule",
          "COSINE", "--activation", "ReLU", "--n-train", "200", "--epochs", "1",
          "--batch-size", "100000", "--quiet", "--out", "runs/loose"), 0,
         ("scratchnn: warning: batch_size 100000 is larger than the 180 training samples",),
         False),
        (("train", "--dataset", "oneclass.npz", "--epochs", "1", "--quiet", "--out",
          "runs/oneclass"), 0, ("test accuracy",), False),
        (("predict", "runs/f2", "photo.png", "digit.png", "ok.npy", "--top-k", "2"), 0,
         ("resized from 320x240 to 8x8 and made grayscale",
          "warning: photo.png: its pixels are far from the training data's"), False),
        (("evaluate", "runs/f2", "--json"), 0, ('"split": "test"',), False),
        (("compare", "runs/f2", "runs/half", "--out", "cmp"), 0, ("wrote cmp/compare.csv",),
         False),
        (("datasets",), 0, ("digits",), False),
    ], workers=2)
    assert "Warning" not in results[1].stderr            # no matplotlib UserWarning
    assert "epoch   1" not in results[0].stdout + results[0].stderr      # --quiet

    # -- a closed pipe ends quietly (`scratchnn predict ... | head -1`)
    process = subprocess.Popen(cli("predict", "runs/f2", "ok.npy", "digit.png", "--top-k",
                                   "10"), cwd=home, env=env(), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    process.stdout.readline()
    process.stdout.close()
    assert process.wait(timeout=120) == 0
    assert b"Traceback" not in process.stderr.read()
    commands += 1

    # -- Ctrl-C at any moment: while importing, while loading, while training
    for delay in (0.3, 0.8, 1.5):
        result = interrupt_after(home, ["train", *FAST, "--out", f"runs/ctrl-c-{delay}"], None,
                                 delay)
        output = result.stdout + result.stderr
        assert "Traceback" not in output and result.returncode in (130, -signal.SIGINT), output
        commands += 1

    # -- resuming says where it resumes as the interruption said where it stopped
    resumed = one("train", "--resume", "runs/half", "--quiet")
    stop = re.search(r"after step (\d+), (?:at the end of epoch (\d+)|in epoch (\d+))",
                     stopped.stderr)
    note = re.search(r"\((?:at the end of epoch (\d+)|in epoch (\d+) after batch \d+), "
                     r"step (\d+)\)", resumed.stdout)
    assert stop and note, (stopped.stderr, resumed.stdout)
    assert stop.groups() == (note.group(3), note.group(1), note.group(2)), (stopped.stderr,
                                                                            resumed.stdout)

    # -- an explicit --overwrite replaces a run; nothing else was touched or left behind
    one("train", *FAST, "--quiet", "--out", "runs/loose", "--overwrite")
    assert digest(home / "runs/f2") == finished
    assert digest(home / "runs/half") != unfinished        # resumed, as asked
    assert (home / "mine" / "thesis.tex").read_text() == "do not lose me\n"
    expected = {"f2", "half", "loose", "oneclass"}
    stray = {p.name for p in (home / "runs").iterdir()} - expected
    assert not {s for s in stray if not s.startswith("ctrl-c-")}, stray
    for name in stray:       # an interrupted run is kept only when it can be resumed
        assert (home / "runs" / name / "checkpoint").is_dir(), name
    assert commands >= 60, commands
    print(f"{commands} commands in {time.perf_counter() - started:.0f}s")
