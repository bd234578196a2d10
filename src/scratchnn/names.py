"""Looking a name up among the valid ones: one message, with "did you mean", for every kind."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping

from scratchnn.errors import ConfigError


def choose(kind: str, name: str, valid: Iterable[str], *, where: str = "",
           listing: str | None = None, aliases: Mapping[str, str] | None = None,
           exact: bool = False) -> str:
    """The valid name that `name` spells, ignoring case ("Adam" -> "adam"); else ConfigError
    "<where>unknown <kind> 'x' (did you mean 'y'?); valid: a, b, c", with `listing` in place
    of the list when given. aliases: other names people use for a valid one ("learning_rate":
    "lr"), suggested but not accepted. exact=True: case matters too (TOML keys)."""
    valid = list(valid)
    if name in valid:
        return name
    folded = {str(v).casefold(): v for v in valid}
    if not exact and isinstance(name, str) and name.casefold() in folded:
        return folded[name.casefold()]
    alias = (aliases or {}).get(str(name).casefold()) or folded.get(str(name).casefold())
    close = [alias] if alias else difflib.get_close_matches(str(name).casefold(), list(folded),
                                                            n=1)
    hint = f" (did you mean {folded.get(close[0], close[0])!r}?)" if close else ""
    listing = listing or f"valid: {', '.join(map(str, valid))}"
    raise ConfigError(f"{where}unknown {kind} {name!r}{hint}; {listing}")
