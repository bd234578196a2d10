"""The errors scratchnn raises for a user's mistake. The CLI turns each into one line and exit 2."""

from __future__ import annotations


class ScratchnnError(Exception):
    """Base class: a problem with the user's input, data, model or configuration."""


class ShapeError(ScratchnnError, ValueError):
    """An array has the wrong shape or dtype for the layer it was given to."""


class DataError(ScratchnnError, ValueError):
    """A dataset is missing, truncated, corrupt or of the wrong format."""


class ConfigError(ScratchnnError, ValueError):
    """An unknown name, an unknown config key, or a value out of range."""


class DivergenceError(ScratchnnError):
    """Training met a non-finite loss or gradient (the message names the step and the first
    layer where values stopped being finite)."""


def one_line(error: BaseException | str, limit: int = 200) -> str:
    """An error (or text) as one line of at most `limit` characters, for a one-line message:
    whitespace runs become single spaces; an empty message becomes the exception's type name."""
    text = " ".join(str(error).split())
    if not text and isinstance(error, BaseException):
        text = type(error).__name__
    return text if len(text) <= limit else text[:limit] + "..."
