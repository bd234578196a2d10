"""The doctor: why is my network not learning?

    report = snn.doctor(model, loss_fn, x, y, lr=0.1)   # any Layer, your own ones too
    print(report)                 # findings ranked by severity, most fundamental first
    report.save("runs/x")         # doctor.txt, doctor.json, lr_range.png

`scratchnn doctor RUN_DIR` (or `--model/--dataset`) does the same from the command line.
"""

import importlib
import inspect
import sys
import types

__all__ = ["Finding", "LRCurve", "Report", "doctor"]


def __getattr__(name: str):
    """The doctor's parts load on first use (PEP 562), so that `scratchnn --help` and
    `import scratchnn.doctor.cli` stay quick."""
    if name == "doctor":
        return importlib.import_module("scratchnn.doctor.examine").doctor
    if name in ("Finding", "LRCurve", "Report"):
        return getattr(importlib.import_module("scratchnn.doctor.report"), name)
    raise AttributeError(f"module 'scratchnn.doctor' has no attribute {name!r}")


class _CallablePackage(types.ModuleType):
    """This package, callable: `snn.doctor(...)` is `snn.doctor.doctor(...)`. A plain function
    named like the package would hide it: `import scratchnn.doctor.report as r` would fail."""

    def __call__(self, *args, **kwargs):
        return self.doctor(*args, **kwargs)       # the package's `doctor` (loaded on first use)

    @property
    def __signature__(self) -> inspect.Signature:     # what help() and inspect show
        from scratchnn.doctor.examine import doctor

        return inspect.signature(doctor)


sys.modules[__name__].__class__ = _CallablePackage
