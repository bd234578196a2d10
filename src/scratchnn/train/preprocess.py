"""Standardize lives in scratchnn.data.transforms with the other transforms; imported from here
too, so `from scratchnn.train.preprocess import Standardize` keeps working."""

from scratchnn.data.transforms import Standardize

__all__ = ["Standardize"]
