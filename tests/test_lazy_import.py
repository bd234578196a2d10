"""`import scratchnn` loads the core only; the tools load on first use, and `scratchnn --help`
imports none of them. Each check runs in a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys

TOOLS = ("scratchnn.doctor", "scratchnn.experiments", "scratchnn.compat", "scratchnn.sweep",
         "scratchnn.onnx", "scratchnn.serve")
HEAVY = ("matplotlib", "tqdm", "PIL", "torch", "optuna", "dask", "onnx", "onnxruntime")


def loaded_after(code: str) -> set[str]:
    """The modules a fresh interpreter has loaded after running `code`."""
    script = f"import sys\n{code}\nimport json; print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=True)
    return set(json.loads(result.stdout.splitlines()[-1]))


def test_import_scratchnn_loads_the_core_and_no_tool_or_heavy_library():
    assert "numpy" not in loaded_after("import scratchnn")         # `scratchnn --help` is fast
    modules = loaded_after("import scratchnn as snn; snn.Sequential; snn.optim.Adam; snn.layers; "
                           "snn.train")
    assert "scratchnn.layers" in modules and "scratchnn.train" in modules
    assert not {m for m in modules if m.startswith(TOOLS)}
    assert not {m for m in modules if m.split(".")[0] in HEAVY}


def test_tools_load_on_first_attribute_access_and_by_import():
    code = """
import scratchnn as snn
assert "scratchnn.doctor.examine" not in sys.modules
assert callable(snn.doctor) and snn.doctor.Report.__name__ == "Report"
assert snn.doctor.doctor.__name__ == "doctor"
assert snn.compat.Solver.__name__ == "Solver"
assert list(snn.experiments.EXPERIMENTS)[0] == "optimizers"
import scratchnn.doctor.report, scratchnn.experiments.common
try:
    snn.no_such_tool
except AttributeError:
    pass
else:
    raise AssertionError("snn.no_such_tool")
"""
    modules = loaded_after(code)
    assert {"scratchnn.doctor.examine", "scratchnn.compat", "scratchnn.experiments.optimizers"
            } <= modules


def test_the_command_line_parser_imports_no_tool_internals():
    modules = loaded_after("from scratchnn.cli import _parser; _parser()")
    assert "scratchnn.doctor.examine" not in modules
    assert not {m for m in modules if m.startswith("scratchnn.experiments.") and
                not m.endswith(".cli")}
    assert not {m for m in modules if m.split(".")[0] in ("matplotlib", "PIL", "tqdm")}


def test_help_of_a_lazily_filled_command_shows_its_options():
    result = subprocess.run([sys.executable, "-m", "scratchnn", "experiment", "gradients",
                             "--help"], capture_output=True, text=True, check=True)
    assert "--hidden-size" in result.stdout
    result = subprocess.run([sys.executable, "-m", "scratchnn", "doctor", "--help"],
                            capture_output=True, text=True, check=True)
    assert "--samples SAMPLES     training samples examined" in result.stdout
