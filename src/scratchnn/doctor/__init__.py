"""The doctor: why is my network not learning?

    report = snn.doctor(model, loss_fn, x, y, lr=0.1)   # any Layer, your own ones too
    print(report)                 # findings ranked by severity, most fundamental first
    report.save("runs/x")         # doctor.txt, doctor.json, lr_range.png

`scratchnn doctor RUN_DIR` (or `--model/--dataset`) does the same from the command line.
"""

from scratchnn.doctor.examine import doctor
from scratchnn.doctor.report import Finding, LRCurve, Report

__all__ = ["Finding", "LRCurve", "Report", "doctor"]
