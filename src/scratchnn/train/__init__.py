"""Training: the Trainer loop, its History, callbacks, preprocessing and run configuration."""

from scratchnn.train.callbacks import Callback, CSVLogger, EarlyStopping, ProgressBar
from scratchnn.train.history import History
from scratchnn.train.interrupt import TrainingInterrupted
from scratchnn.train.preprocess import Standardize
from scratchnn.train.rundir import Run
from scratchnn.train.trainer import Trainer

__all__ = ["CSVLogger", "Callback", "EarlyStopping", "History", "ProgressBar", "Run",
           "Standardize", "Trainer", "TrainingInterrupted"]
