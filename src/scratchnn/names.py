"""Looking a name up among the valid ones: one message, with "did you mean", for every kind."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from scratchnn.errors import ConfigError


def choose(kind: str, name: str, valid: Iterable[str], *, where: str = "",
           listing: str | None = None) -> str:
    """`name` if it is one of `valid`; else ConfigError "<where>unknown <kind> 'x' (did you mean
    'y'?); valid: a, b, c", with `listing` in place of the list when given."""
    valid = list(valid)
    if name in valid:
        return name
    close = difflib.get_close_matches(str(name), valid, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    listing = listing or f"valid: {', '.join(valid)}"
    raise ConfigError(f"{where}unknown {kind} {name!r}{hint}; {listing}")
