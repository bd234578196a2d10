"""What the experiments share: their data, a fixed sequence of mini-batches, training for a number
of iterations, per-epoch evaluation, CSV files, figures and the result they return."""

from __future__ import annotations

import csv
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from scratchnn import data as datasets
from scratchnn.data.dataset import Dataset
from scratchnn.data.transforms import Standardize
from scratchnn.errors import ConfigError, DivergenceError
from scratchnn.train.callbacks import Callback
from scratchnn.train.trainer import Trainer
from scratchnn.viz.images import plt  # pyplot, with the Agg backend chosen
from scratchnn.viz.plots import smooth
from scratchnn.viz.table import format_table

Log = Callable[[str], None]


def quiet(message: str) -> None:
    """The default log: library code stays silent; the command line passes a printer."""


@dataclass(frozen=True, eq=False, repr=False)
class ExperimentData(Dataset):
    """The (sub)sets an experiment trains and tests on, in their stored dtype (uint8 images),
    and `prepare`, which turns a batch into float32 network inputs."""

    prepare: Callable[[np.ndarray], np.ndarray] = field(kw_only=True)

    @property
    def input_size(self) -> int:
        """Features per sample, e.g. 784 for (1, 28, 28)."""
        return math.prod(self.input_shape)


def load_data(dataset: str, *, samples: int | None = None, test_samples: int | None = None,
              seed: int = 0) -> ExperimentData:
    """Load `dataset`; keep a random `samples` of the training set and `test_samples` of the test
    set (None: all), drawn from np.random.default_rng([seed, 1]). Inputs are standardised with
    the statistics of the training samples kept."""
    for name, value in (("samples", samples), ("test samples", test_samples)):
        if value is not None and value < 1:
            raise ConfigError(f"{name} must be a positive integer, got {value}")
    full = datasets.load(dataset)
    rng = np.random.default_rng([seed, 1])
    x_train, y_train = _subset(full.x_train, full.y_train, samples, rng)
    x_test, y_test = _subset(full.x_test, full.y_test, test_samples, rng)
    if x_train.dtype == np.uint8:
        prepare = Standardize.fit(x_train)
    else:
        prepare = _as_float32
    return ExperimentData(full.name, x_train, y_train, x_test, y_test, full.classes,
                          prepare=prepare)


def _subset(x, y, count, rng):
    if count is None or count >= len(x):
        return x, y
    keep = np.sort(rng.choice(len(x), count, replace=False))
    return x[keep], y[keep]


def _as_float32(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.float32)


def batch_schedule(num_samples: int, batch_size: int, iterations: int,
                   rng: np.random.Generator) -> list[np.ndarray]:
    """`iterations` index arrays of `batch_size` samples, cut from one permutation after another
    (each sample at most once per pass; a pass's remainder smaller than a batch is skipped).
    Training several models on this one list (train_iterations) gives
    them the same batches in the same order."""
    if iterations < 1 or batch_size < 1:
        raise ConfigError(f"iterations and batch size must be positive, got {iterations} and "
                          f"{batch_size}")
    batch_size = min(batch_size, num_samples)
    per_pass = num_samples // batch_size
    schedule: list[np.ndarray] = []
    while len(schedule) < iterations:
        order = rng.permutation(num_samples)
        schedule += [order[i * batch_size:(i + 1) * batch_size] for i in range(per_pass)]
    return schedule[:iterations]


def train_iterations(trainer: Trainer, data: ExperimentData, schedule: Sequence[np.ndarray]
                     ) -> tuple[list[float], int | None]:
    """trainer.fit for one pass over `schedule` (it becomes the trainer's batches), one step per
    index array -> (the loss of every step, the step at which training diverged or None)."""
    trainer.batches = lambda x, y, epoch: ((x[index], y[index]) for index in schedule)
    start = len(trainer.history.steps)
    try:
        trainer.fit(data.x_train, data.y_train, epochs=trainer.epoch + 1)
    except DivergenceError:
        return trainer.history.steps[start:], len(trainer.history.steps) - start + 1
    return trainer.history.steps[start:], None


class EpochEvaluation(Callback):
    """After every epoch, evaluate in eval mode on the training samples and the test set; keep
    {"epoch", "train_loss", "train_acc", "test_loss", "test_acc", "diverged"} rows in `rows`.

    (The trainer's own train_acc is a running mean in train mode, with dropout switched on.)"""

    def __init__(self, data: ExperimentData) -> None:
        self.data = data
        self.rows: list[dict[str, float]] = []

    def on_epoch_end(self, trainer, metrics: dict[str, float]) -> None:
        self.record(trainer, metrics["epoch"])

    def record(self, trainer, epoch: float, diverged: bool = False) -> None:
        with np.errstate(over="ignore", invalid="ignore"):   # a diverging model overflows
            train = trainer.evaluate(self.data.x_train, self.data.y_train)
            test = trainer.evaluate(self.data.x_test, self.data.y_test)
        self.rows.append({"epoch": epoch, "train_loss": train["loss"],
                          "train_acc": train["accuracy"], "test_loss": test["loss"],
                          "test_acc": test["accuracy"], "diverged": int(diverged)})


def fit_epochs(trainer: Trainer, data: ExperimentData, epochs: int
               ) -> tuple[list[dict[str, float]], int | None]:
    """trainer.fit on the training samples, evaluating after every epoch -> (rows as
    EpochEvaluation keeps them, the epoch in which training diverged or None).

    When a step diverges, training stops; the trainer has undone that step, and the last row
    (diverged = 1) is the model as it was then."""
    evaluation = EpochEvaluation(data)
    trainer.callbacks.append(evaluation)
    try:
        trainer.fit(data.x_train, data.y_train, epochs)
    except DivergenceError:
        evaluation.record(trainer, trainer.epoch + 1, diverged=True)
        return evaluation.rows, trainer.epoch + 1
    return evaluation.rows, None


def set_parameters(model, arrays: Sequence[np.ndarray]) -> None:
    """Copy `arrays` into model.parameters(), in order (models whose layers differ only by
    parameter-free ones, e.g. Dropout, share initial weights this way)."""
    params = model.parameters()
    if [p.data.shape for p in params] != [a.shape for a in arrays]:
        raise ConfigError("set_parameters: the arrays do not match the model's parameters")
    for param, array in zip(params, arrays, strict=True):
        param.data = array.astype(param.data.dtype, copy=True)


def tail_mean(values: Sequence[float], fraction: float = 0.05) -> float:
    """The mean of the last `fraction` of `values` (at least one): a final loss without the
    noise of a single batch."""
    if not values:
        return math.nan
    count = max(1, int(len(values) * fraction))
    return float(np.mean(values[-count:]))


def smoothed(values: Sequence[float]) -> np.ndarray:
    """A moving average over 1/40 of the curve (at least 1 step), as the loss plots draw it."""
    return smooth(list(values), max(1, len(values) // 40))


# -- files --------------------------------------------------------------------------------------

def write_csv(path: Path, rows: Sequence[dict], columns: Sequence[str] | None = None) -> Path:
    """Rows of dicts as CSV with a header (floats written exactly, via repr)."""
    columns = list(columns or dict.fromkeys(k for row in rows for k in row))
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def save_figure(fig, path: Path) -> Path:
    """Save a matplotlib figure as PNG and close it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


@dataclass
class ExperimentResult:
    """What an experiment wrote and found: its directory, the files (PNG and CSV), the summary
    table (also in one of the CSV files) and how long it took."""

    name: str
    directory: Path
    table: list[dict]
    files: list[Path] = field(default_factory=list)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """The table, the notes and the files, for the terminal."""
        lines = [format_table(self.table), *self.notes, ""]
        lines += [f"wrote {path}" for path in self.files]
        lines.append(f"{self.name}: {self.seconds:.1f} s")
        return "\n".join(lines)


class Stopwatch:
    """seconds since it was made: `clock = Stopwatch(); ...; clock()`."""

    def __init__(self) -> None:
        self.started = time.perf_counter()

    def __call__(self) -> float:
        return time.perf_counter() - self.started
