"""The sweep driver: asks Optuna for trials, runs them on Dask, answers the workers' pruning
questions, and records every finished trial (its run directory, the study, results.csv).

Only the driver touches the study (DIR/study.journal); a worker gets a trial's settings and
returns its outcome with the run directory's files, so remote workers need no shared disk.
"""

from __future__ import annotations

import time
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path

import optuna
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState

from scratchnn.errors import one_line
from scratchnn.sweep import directory as layout
from scratchnn.sweep.results import best_row, result_rows, write_results
from scratchnn.sweep.space import decode, make_pruner, make_sampler, suggest
from scratchnn.sweep.spec import SweepSpec
from scratchnn.sweep.trial import TrialJob, TrialOutcome, answers_queue, reports_queue, run_trial

STUDY_NAME = "sweep"
POLL_SECONDS = 0.1          # between looks for pruning reports
WAIT_SECONDS = 1.0          # at most between looks at the cluster without pruning


@dataclass
class SweepResult:
    directory: Path
    rows: list[dict]          # results.csv, one dict per finished trial
    best: dict | None         # the row of the best trial


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped the sweep; finished trials are kept, `directory` resumes it."""

    def __init__(self, directory: Path) -> None:
        super().__init__(f"sweep interrupted: {directory}")
        self.directory = directory


def open_study(directory: Path, spec: SweepSpec) -> optuna.Study:
    """The sweep's study in DIR/study.journal, created on first use (maximises val_acc)."""
    storage = JournalStorage(JournalFileBackend(str(directory / layout.STUDY_FILE)))
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.create_study(study_name=STUDY_NAME, storage=storage, direction="maximize",
                               pruner=make_pruner(spec), load_if_exists=True)


class Driver:
    """Runs trials until the study holds `total` of them, `capacity(client)` at a time."""

    def __init__(self, directory: Path, spec: SweepSpec, study: optuna.Study, client,
                 total: int, blas_threads: int | None, progress=None) -> None:
        self.directory, self.spec, self.study, self.client = directory, spec, study, client
        self.total, self.blas_threads, self.progress = total, blas_threads, progress
        self.channel = f"scratchnn-sweep-{uuid.uuid4().hex[:12]}"
        self.running: dict = {}          # Future -> optuna.Trial
        self.answers: dict = {}          # trial number -> its answers Queue

    def run(self) -> None:
        from distributed import Queue

        reports = Queue(reports_queue(self.channel), client=self.client)
        for frozen in self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            trial = optuna.Trial(self.study, frozen._trial_id)   # interrupted earlier: again
            self._submit(trial, decode(self.spec.space, frozen.params))
        self._show()
        while True:
            while len(self.running) < self._capacity() and self._asked() < self.total:
                trial = self._ask()
                self._submit(trial, suggest(trial, self.spec.space))
            if not self.running:
                break
            if self.spec.pruner == "none":
                self._wait()                    # nothing to answer: sleep until a trial ends
            else:
                self._answer(reports)
            for future in [f for f in self.running if f.done()]:
                self._finish(future)

    def cancel(self) -> None:
        """Stop the running trials (they stay RUNNING in the study: a resume runs them)."""
        self.client.cancel(list(self.running))
        self.running.clear()

    def _capacity(self) -> int:
        from scratchnn.sweep.cluster import capacity

        return capacity(self.client)

    def _asked(self) -> int:
        return len(self.study.get_trials(deepcopy=False))

    def _ask(self) -> optuna.Trial:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            self.study.sampler = make_sampler(self.spec, self._asked())
            return self.study.ask()

    def _submit(self, trial: optuna.Trial, params: dict) -> None:
        job = TrialJob(trial.number, {**self.spec.base, **params},
                       channel=None if self.spec.pruner == "none" else self.channel,
                       blas_threads=self.blas_threads)
        future = self.client.submit(run_trial, job, key=f"{self.channel}-trial-{trial.number}",
                                    pure=False)
        self.running[future] = trial

    def _wait(self) -> None:
        """Block (no polling: the workers get the cores) until a running trial ends or
        WAIT_SECONDS pass."""
        from distributed import wait

        try:
            wait(list(self.running), timeout=WAIT_SECONDS, return_when="FIRST_COMPLETED")
        except TimeoutError:
            pass

    def _answer(self, reports) -> None:
        """Report each epoch's val_acc to its trial and tell the worker whether to stop."""
        received = reports.get(batch=True)      # never blocks (a timeout logs an error)
        if not received:
            time.sleep(POLL_SECONDS)
            return
        trials = {trial.number: trial for trial in self.running.values()}
        for number, epoch, value in received:
            trial = trials.get(number)
            prune = False
            if trial is not None:
                with warnings.catch_warnings():    # a re-run trial reports its epochs again
                    warnings.simplefilter("ignore")
                    trial.report(value, epoch)
                prune = trial.should_prune()
            self._answers_queue(number).put((epoch, prune))

    def _answers_queue(self, number: int):
        from distributed import Queue

        if number not in self.answers:
            self.answers[number] = Queue(answers_queue(self.channel, number), client=self.client)
        return self.answers[number]

    def _finish(self, future) -> None:
        trial = self.running.pop(future)
        outcome = _outcome(future, trial.number)
        if outcome.files:
            path = layout.write_trial_files(self.directory, trial.number, outcome.files)
            trial.set_user_attr("directory", path.relative_to(self.directory).as_posix())
        for key in ("best_val_acc", "epochs", "seconds", "worker", "test_acc", "reason"):
            value = getattr(outcome, key)
            if value not in (None, ""):
                trial.set_user_attr(key, round(value, 3) if key == "seconds" else value)
        if outcome.state == "complete" and outcome.best_val_acc is None:
            trial.set_user_attr("reason", "no validation accuracy was measured")
            outcome.state = "fail"
        if outcome.state == "complete":
            self.study.tell(trial, outcome.best_val_acc)
        elif outcome.state == "pruned":
            self.study.tell(trial, state=TrialState.PRUNED)
        else:
            self.study.tell(trial, state=TrialState.FAIL)
        queue = self.answers.pop(trial.number, None)
        if queue is not None:
            queue.close()
        self._show()

    def _show(self) -> None:
        rows = result_rows(self.study, self.spec)
        write_results(self.directory / layout.RESULTS_FILE, rows, self.spec)
        if self.progress is not None:
            self.progress.update(rows, len(self.running), best_row(rows))

    def result(self) -> SweepResult:
        rows = result_rows(self.study, self.spec)
        return SweepResult(self.directory, rows, best_row(rows))


def _outcome(future, number: int) -> TrialOutcome:
    """The trial's outcome; a worker that died running it (KilledWorker, after Dask's retries on
    other workers) or any other task error is a failed trial with the reason."""
    from distributed import KilledWorker

    try:
        return future.result()
    except KilledWorker as error:
        reason = f"the worker running it died, also on retry (KilledWorker: {one_line(error)})"
    except Exception as error:
        reason = f"{type(error).__name__}: {one_line(error)}"
    return TrialOutcome(number, "fail", reason=reason)
