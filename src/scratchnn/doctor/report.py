"""Finding and Report: what the doctor found, ranked so that the most fundamental problem is first.

A finding has a severity (critical > warning > info), a title, what was measured, why it matters
and what to do (in words, and as data in `remedy`). Report.relate orders them causes first, by
construction: a symptom (a dead or constant layer, gradients that vanish, a batch that cannot be
fitted) is placed after the causes and names the problem that explains it (`follows`), the
earliest one in the forward pass whose own inputs are healthy. Causes are ranked by
severity, then by `order` (inputs, gradients, structure, the optimizer, the learning rate,
statistics, and last "cannot overfit one batch" and "no better than chance on held-out samples").
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

SEVERITIES = ("critical", "warning", "info")
_RANK = {name: i for i, name in enumerate(SEVERITIES)}

# Where each check's findings rank within one severity: causes first, symptoms last.
ORDER = {
    "inputs": 10, "labels": 12, "held-out": 14, "forward": 15, "batches": 20, "gradients": 30,
    "structure": 40,
    "optimizer": 50, "init-loss": 60, "learning-rate": 70, "schedule": 75, "statistics": 80,
    "overfit": 90,
    "generalisation": 95, "lr-range": 100, "doctor": 110,
}
WIDTH = 100


@dataclass(frozen=True)
class Finding:
    """One problem (or note): how bad, what, the measurement, why it matters, the fix."""

    severity: str
    title: str
    measured: str
    why: str
    fix: str
    check: str = "doctor"
    details: str = ""             # e.g. a gradient-check table; printed verbatim
    layer: int | None = None      # position in the forward pass (-1: the inputs), if local
    downstream: bool = False      # a symptom an earlier problem can cause (dead, constant...)
    remedy: dict | None = None    # the fix as data, e.g. {"action": "reinit", "layer": "3"}
    follows: int | None = None    # set by Report.relate: the finding number that explains it

    def __post_init__(self) -> None:
        if self.severity not in _RANK:
            raise ValueError(f"severity must be one of {SEVERITIES}, got {self.severity!r}")

    @property
    def rank(self) -> tuple[int, int]:
        return _RANK[self.severity], ORDER.get(self.check, ORDER["doctor"])


@dataclass
class LRCurve:
    """The learning-rate range test: loss after `steps` steps from the same start, per lr."""

    lrs: list[float]
    losses: list[float]           # inf where training diverged
    start_loss: float
    steps: int
    suggested: float | None
    given: float | None = None


@dataclass
class Report:
    """The doctor's report: findings ranked by severity (most fundamental first) and the checks
    that passed. `clean` is True when nothing is worse than "info"."""

    subject: str = ""                                 # the model, loss and optimizer examined
    findings: list[Finding] = field(default_factory=list)
    passed: list[str] = field(default_factory=list)   # one line per check that found nothing
    sections: list[tuple[str, str]] = field(default_factory=list)  # (title, table) to show
    lr_curve: LRCurve | None = None
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)   # seconds per check

    def add(self, finding: Finding) -> None:
        self.findings.append(finding)
        self.findings.sort(key=lambda f: f.rank)      # stable: a check's own order is kept

    def relate(self) -> None:
        """Order the findings causes first and mark what follows from what (see the module)."""
        self.findings = relate(self.findings)

    @property
    def top(self) -> Finding | None:
        """The most fundamental finding, or None."""
        return self.findings[0] if self.findings else None

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if f.severity != "info"]

    @property
    def clean(self) -> bool:
        return not self.problems

    def count(self, severity: str) -> int:
        return sum(f.severity == severity for f in self.findings)

    # -- rendering ------------------------------------------------------------------------------

    def summary(self) -> str:
        if self.clean:
            notes = self.count("info")
            return "no problems found" + (f" ({notes} note{'s' * (notes != 1)})" if notes else "")
        parts = [f"{self.count(s)} {s}" for s in ("critical", "warning") if self.count(s)]
        n = len(self.problems)
        return f"{n} problem{'s' * (n != 1)} ({', '.join(parts)}), most fundamental first"

    def text(self) -> str:
        """The report as plain text, as `scratchnn doctor` prints it."""
        lines = [f"scratchnn doctor: {self.subject}" if self.subject else "scratchnn doctor",
                 self.summary(), ""]
        for i, finding in enumerate(self.findings, 1):
            lines.append(f"{i}. {finding.severity.upper()}: {finding.title}")
            lines.append(_wrap("   measured  ", finding.measured))
            if finding.details:
                lines.append(textwrap.indent(finding.details, " " * 13))
            lines.append(_wrap("   why       ", finding.why))
            lines.append(_wrap("   fix       ", finding.fix))
            if finding.follows is not None:
                lines.append(f"   follows   from finding {finding.follows}: fix that first, "
                             "then examine again")
            lines.append("")
        for title, table in self.sections:
            lines += [title, textwrap.indent(table, "  "), ""]
        if self.passed:
            lines.append("passed")
            lines += [_wrap("  ok  ", line) for line in self.passed]
            lines.append("")
        lines.append(f"({self.seconds:.1f} s)")
        return "\n".join(line.rstrip() for line in "\n".join(lines).split("\n"))

    def __str__(self) -> str:
        return self.text()

    def to_dict(self) -> dict:
        return {"subject": self.subject, "clean": self.clean, "summary": self.summary(),
                "findings": [asdict(f) for f in self.findings], "passed": list(self.passed),
                "sections": [{"title": t, "text": text} for t, text in self.sections],
                "lr_range": None if self.lr_curve is None else _finite(asdict(self.lr_curve)),
                "seconds": round(self.seconds, 3),
                "timings": {k: round(v, 3) for k, v in self.timings.items()}}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def save(self, directory: str | Path, plot: bool = True) -> list[Path]:
        """Write doctor.txt, doctor.json and (with an lr curve) lr_range.png into `directory`."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        written = [directory / "doctor.txt", directory / "doctor.json"]
        written[0].write_text(self.text() + "\n")
        written[1].write_text(self.to_json() + "\n")
        if plot and self.lr_curve is not None:
            from scratchnn.doctor.plot import plot_lr_range  # matplotlib only when plotting

            written.append(plot_lr_range(self.lr_curve, directory / "lr_range.png"))
        return written


# Checks whose findings measure the whole training, not a layer: a critical cause explains them.
SYMPTOMS = ("init-loss", "learning-rate", "overfit", "generalisation", "lr-range")


def _explains(cause: Finding, symptom: Finding) -> bool:
    """An earlier layer's problem explains a downstream symptom at a later layer (or at no
    particular layer, like vanishing gradients); a critical cause explains the training symptoms."""
    if cause is symptom or cause.severity == "info":
        return False
    if symptom.check in SYMPTOMS and not symptom.downstream:
        return cause.severity == "critical" and cause.check not in SYMPTOMS
    if not symptom.downstream or cause.layer is None:
        return False
    return (symptom.layer is None or cause.layer < symptom.layer
            or (cause.layer == symptom.layer and not cause.downstream))


def relate(findings: list[Finding]) -> list[Finding]:
    """Causes first, then what follows from them: a problem that an earlier problem explains
    goes after every cause, with `follows` set to its root cause (the earliest in the forward
    pass, whose own inputs are healthy); a cause is at least as severe as what follows from it."""
    ranked = sorted(findings, key=lambda f: f.rank)
    problems = [f for f in ranked if f.severity != "info"]
    root: dict[int, Finding] = {}
    for f in problems:
        explaining = [c for c in problems if _explains(c, f)]
        if explaining:            # the root: earliest layer first, then the usual rank
            root[id(f)] = min(explaining, key=lambda c: (c.layer if c.layer is not None
                                                          else 1 << 30, c.rank))
    for f in problems:            # a root's own cause: follow the chain to its start
        seen = set()
        while id(f) in root and id(root[id(f)]) in root and id(root[id(f)]) not in seen:
            seen.add(id(root[id(f)]))
            root[id(f)] = root[id(root[id(f)])]
    causes = [f for f in ranked if id(f) not in root]
    worst = {id(c): min([c.rank[0]] + [_RANK[f.severity] for f in problems
                                       if root.get(id(f)) is c]) for c in causes}
    causes.sort(key=lambda c: (worst[id(c)], c.rank[1], c.rank[0]))
    number = {id(c): i for i, c in enumerate(causes, 1)}
    symptoms = sorted((f for f in problems if id(f) in root),
                      key=lambda f: (number[id(root[id(f)])], f.rank))
    return ([replace(c, severity=SEVERITIES[worst[id(c)]], follows=None) for c in causes]
            + [replace(f, follows=number[id(root[id(f)])]) for f in symptoms])


def _wrap(prefix: str, text: str) -> str:
    """`prefix` then `text` wrapped to WIDTH, later lines indented as far as the prefix; each
    line of `text` is wrapped as its own paragraph."""
    pad = " " * len(prefix)
    return "\n".join(textwrap.fill(paragraph, WIDTH, initial_indent=prefix if i == 0 else pad,
                                   subsequent_indent=pad, break_on_hyphens=False,
                                   break_long_words=False) or pad
                     for i, paragraph in enumerate(text.split("\n")))


def _finite(value):
    """JSON has no inf/NaN: write them as None."""
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else None
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    return value
