"""The doctor: why is my network not learning?

    report = snn.doctor(model, loss_fn, x, y, lr=0.1)   # any Layer, your own ones too
    print(report)                 # findings ranked by severity, most fundamental first
    report.save("runs/x")         # doctor.txt, doctor.json, lr_range.png

`scratchnn doctor RUN_DIR` (or `--model/--dataset`) does the same from the command line.
"""

import inspect
import sys
import types

from scratchnn.doctor.examine import doctor
from scratchnn.doctor.report import Finding, LRCurve, Report

__all__ = ["Finding", "LRCurve", "Report", "doctor"]


class _CallablePackage(types.ModuleType):
    """This package, callable: `snn.doctor(...)` is `snn.doctor.doctor(...)`. A plain function
    named like the package would hide it: `import scratchnn.doctor.report as r` would fail."""

    def __call__(self, *args, **kwargs) -> Report:
        return doctor(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
__signature__ = inspect.signature(doctor)   # what help() and inspect show for snn.doctor
