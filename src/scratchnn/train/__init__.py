"""Training: the Trainer loop, its History, callbacks, the run format and run configuration.
(Preprocessing lives with the other transforms: scratchnn.data.Standardize.)"""

from scratchnn.train.callbacks import Callback, CSVLogger, EarlyStopping, ProgressBar
from scratchnn.train.history import History
from scratchnn.train.interrupt import TrainingInterrupted
from scratchnn.train.rundir import Run
from scratchnn.train.trainer import Trainer

__all__ = ["CSVLogger", "Callback", "EarlyStopping", "History", "ProgressBar", "Run", "Trainer",
           "TrainingInterrupted"]
