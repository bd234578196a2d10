"""Report: ranking (severity, then causes before symptoms), text, JSON and files; and the public
names (snn.doctor is a callable package: it runs the doctor and its modules import every way)."""

from __future__ import annotations

import json

import pytest
from doctor_cases import doctor_args, planted

import scratchnn as snn
from scratchnn.doctor import Finding, LRCurve, Report
from scratchnn.doctor.report import SEVERITIES

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def finding(severity, check, title="t"):
    return Finding(severity, title, "measured", "why", "fix", check)


def test_findings_rank_by_severity_then_causes_before_symptoms():
    report = Report()
    for f in [finding("warning", "inputs", "w-inputs"), finding("critical", "overfit", "c-fit"),
              finding("info", "gradients", "i-grad"), finding("critical", "batches", "c-batch"),
              finding("critical", "gradients", "c-grad")]:
        report.add(f)
    assert [f.title for f in report.findings] == ["c-batch", "c-grad", "c-fit", "w-inputs",
                                                  "i-grad"]
    assert report.top.title == "c-batch" and not report.clean
    assert report.summary() == "4 problems (3 critical, 1 warning), most fundamental first"


def test_a_report_with_notes_only_is_clean():
    report = Report(findings=[finding("info", "inputs")])
    assert report.clean and report.problems == [] and report.summary() == (
        "no problems found (1 note)")


def test_an_unknown_severity_is_refused():
    with pytest.raises(ValueError, match="severity"):
        finding("fatal", "inputs")
    assert SEVERITIES == ("critical", "warning", "info")


def test_text_json_and_files(tmp_path):
    report = snn.doctor(**doctor_args(planted("update adds the gradient")))
    text = report.text()
    assert text.startswith("scratchnn doctor: Sequential(Flatten, Linear, ReLU")
    assert "1. CRITICAL: the optimizer (AscentSGD) goes uphill" in text
    assert "   measured  " in text and "   fix       " in text and "\npassed\n" in text
    data = json.loads(report.to_json())
    assert data["clean"] is False and data["findings"][0]["check"] == "optimizer"
    assert data["lr_range"]["suggested"] is None and None in data["lr_range"]["losses"]
    assert set(data["timings"]) >= {"inputs", "gradient", "overfit", "lr range"}
    written = report.save(tmp_path / "out")
    assert [p.name for p in written] == ["doctor.txt", "doctor.json", "lr_range.png"]
    assert (tmp_path / "out" / "doctor.txt").read_text().startswith(text)
    assert (tmp_path / "out" / "lr_range.png").read_bytes().startswith(PNG_SIGNATURE)


def test_the_lr_plot_draws_diverged_given_and_suggested_rates(tmp_path):
    from scratchnn.doctor.plot import plot_lr_range

    curve = LRCurve([1e-3, 1e-2, 1e-1, 1.0], [2.0, 1.0, 0.5, float("inf")], 2.3, 20, 1e-2, 0.5)
    path = plot_lr_range(curve, tmp_path / "lr.png")
    assert path.read_bytes().startswith(PNG_SIGNATURE)


def test_snn_doctor_runs_the_doctor_and_the_package_modules_import_every_way(monkeypatch):
    import inspect

    import scratchnn.doctor.report as report_module  # failed when a function hid the package
    from scratchnn.doctor import doctor
    from scratchnn.doctor.report import Report as Again

    assert report_module.Report is Again is Report and snn.doctor.Report is Report
    assert inspect.signature(snn.doctor) == inspect.signature(doctor)
    monkeypatch.setattr(snn.doctor, "doctor", lambda *args, **kwargs: (args, kwargs))
    assert snn.doctor(1, 2, lr=3) == ((1, 2), {"lr": 3})    # the call goes to the function
    assert "doctor" in snn.__all__


def test_relate_puts_the_earliest_cause_first_and_marks_what_follows():
    """A critical symptom at layer 3 and a training symptom come after the causes (the warning
    at layer 2 that explains them, and an unrelated one); a cause takes the severity of the
    worst of what follows from it."""
    symptom = Finding("critical", "layer 3: constant", "m", "w", "f", "structure", layer=3,
                      downstream=True)
    cause = Finding("warning", "layer 2: dead", "m", "w", "f", "statistics", layer=2,
                    downstream=True)
    overfit = Finding("critical", "cannot overfit", "m", "w", "f", "overfit")
    independent = Finding("warning", "labels unbalanced", "m", "w", "f", "labels")
    report = Report(findings=[symptom, overfit, independent, cause])
    report.relate()
    titles = [f.title for f in report.findings]
    assert titles == ["layer 2: dead", "labels unbalanced", "layer 3: constant",
                      "cannot overfit"]
    assert [f.follows for f in report.findings] == [None, None, 1, 1]
    assert report.top.severity == "critical"
    assert "follows   from finding 1" in report.text()
