"""The command line: `scratchnn COMMAND ...`, one sub-command per tool.

Exit codes: 0 success; 2 bad usage or bad input (one line on stderr); 3 the doctor found
problems; 130 interrupted (Ctrl-C); 1 a bug in scratchnn (one line; SCRATCHNN_DEBUG=1 shows
the traceback). A closed pipe (`scratchnn predict ... | head -1`) ends quietly with 0.

This module imports only the standard library at load time: `scratchnn --help` names the
commands without loading NumPy; each command's module and options load when it is used.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import signal
import sys
from collections.abc import Callable

# name: (module, its add_<name>_command registrar, the one-line summary for `scratchnn --help`)
COMMANDS = {
    "train": ("scratchnn.cli_train", "add_train_command",
              "train a model; writes a run directory with its report"),
    "evaluate": ("scratchnn.cli_train", "add_evaluate_command",
                 "a run's accuracy and loss on a test set"),
    "predict": ("scratchnn.cli_runs", "add_run_commands",
                "a run's top classes for image (PNG/JPEG) or .npy files"),
    "report": ("scratchnn.cli_runs", "add_run_commands", "(re)build a run's report.html"),
    "compare": ("scratchnn.cli_runs", "add_run_commands",
                "runs side by side: a table of settings and results, overlaid curves"),
    "doctor": ("scratchnn.doctor.cli", "add_doctor_command",
               "why is my network not learning? a diagnosis of a run or a fresh model"),
    "experiment": ("scratchnn.experiments.cli", "add_experiment_command",
                   "run a classic experiment (optimizers, init, ...): plots and a CSV"),
    "datasets": ("scratchnn.cli_train", "add_datasets_command",
                 "the known datasets: where they are found, their size, how to get them"),
    "gradcheck": ("scratchnn.cli_train", "add_gradcheck_command",
                  "numerical vs backprop gradients of a preset, layer by layer"),
    "sweep": ("scratchnn.sweep.cli", "add_sweep_command",
              "hyperparameter search (Optuna), trials on local or Dask workers"),
    "export": ("scratchnn.onnx.cli", "add_export_command", "write a run's model as an ONNX file"),
    "serve": ("scratchnn.serve.cli", "add_serve_command",
              "a local web page to try a run's model on your own images"),
}

# Two or three examples per command, shown at the end of its --help.
EXAMPLES = {
    "train": ["scratchnn train --dataset digits --epochs 5 --out runs/digits",
              "scratchnn train --model cnn --lr 3e-3 --augment --out runs/cnn",
              "scratchnn train --print-config > my.toml; scratchnn train --config my.toml",
              "scratchnn train --resume runs/cnn          # after Ctrl-C"],
    "evaluate": ["scratchnn evaluate runs/digits",
                 "scratchnn evaluate runs/digits/model.npz --json"],
    "predict": ["scratchnn predict runs/f2 shoe.png",
                "scratchnn predict runs/f2 photo.jpg --invert --top-k 5",
                "scratchnn predict runs/digits batch.npy --json"],
    "report": ["scratchnn report runs/digits             # writes runs/digits/report.html",
               "scratchnn report runs/f2 --dataset mnist"],
    "compare": ["scratchnn compare runs/a runs/b",
                "scratchnn compare runs/* --out comparison"],
    "doctor": ["scratchnn doctor runs/digits",
               "scratchnn doctor --model mlp --dataset digits --lr 1",
               "scratchnn doctor runs/f2 --json"],
    "experiment": ["scratchnn experiment optimizers", "scratchnn experiment gradients --help"],
    "datasets": ["scratchnn datasets", "scratchnn datasets --json"],
    "gradcheck": ["scratchnn gradcheck", "scratchnn gradcheck --model cnn --batch 2"],
    "sweep": ["scratchnn sweep examples/sweep.toml --trials 8",
              "scratchnn sweep --resume sweeps/sweep-20260101-120000"],
    "export": ["scratchnn export runs/digits", "scratchnn export runs/f2 --out f2.onnx"],
    "serve": ["scratchnn serve runs/f2", "scratchnn serve runs/digits --port 8080"],
}


class HelpFormatter(argparse.HelpFormatter):
    """Wraps text as argparse does, but keeps paragraphs whose lines are indented (examples)."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        paragraphs = []
        for paragraph in text.split("\n\n"):
            if all(line.startswith("  ") for line in paragraph.splitlines()[1:]) and (
                    "\n  " in paragraph):
                paragraphs.append(paragraph)
            else:
                paragraphs.append(super()._fill_text(paragraph, width, indent))
        return "\n\n".join(paragraphs)


class Parser(argparse.ArgumentParser):
    """An ArgumentParser that a sub-command may ask to fill in only when it is used:
    commands.add_parser(name, help=..., fill=function) calls function(parser) before parsing
    that command's arguments, so `scratchnn --help` does not import what the command needs.
    Its errors are one useful line and where to read more."""

    def __init__(self, *args, fill: Callable[[argparse.ArgumentParser], None] | None = None,
                 **kwargs) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)
        self._fill = fill

    def parse_known_args(self, args=None, namespace=None):
        if self._fill is not None:
            fill, self._fill = self._fill, None
            fill(self)
            _polish(self)
        return super().parse_known_args(args, namespace)

    def error(self, message: str):
        choice = re.match(r"argument (\S+): invalid choice: '(.*)' \(choose from (.*)\)$",
                          message)
        if choice:
            from scratchnn.errors import ConfigError
            from scratchnn.names import choose

            valid = [name.strip("' ") for name in choice[3].split(",")]
            kind = "command" if choice[1] in ("COMMAND", "NAME") else choice[1]
            try:
                choose(kind, choice[2], valid)
            except ConfigError as error:
                message = str(error)
        self.exit(2, f"{self.prog}: error: {message}\nsee {self.prog} --help\n")


class _Registrar:
    """Stands for the sub-parsers when a tool's add_<name>_command runs: it gets back the
    parser already made for `name` (any other command it adds goes to a throwaway parser)."""

    def __init__(self, name: str, parser: Parser) -> None:
        self.name, self.parser = name, parser

    def add_parser(self, name: str, *, help: str | None = None,
                   fill: Callable[[argparse.ArgumentParser], None] | None = None,
                   **kwargs) -> argparse.ArgumentParser:
        if name != self.name:
            return Parser(prog=f"scratchnn {name}", add_help=False)
        for key, value in kwargs.items():        # description, epilog, formatter_class
            setattr(self.parser, key, value)
        if not isinstance(self.parser.formatter_class, type) or not issubclass(
                self.parser.formatter_class, HelpFormatter):
            self.parser.formatter_class = HelpFormatter
        if fill is not None:
            fill(self.parser)
        return self.parser


def _filler(name: str) -> Callable[[argparse.ArgumentParser], None]:
    module, registrar, _ = COMMANDS[name]

    def fill(parser: argparse.ArgumentParser) -> None:
        getattr(importlib.import_module(module), registrar)(_Registrar(name, parser))
    return fill


def _polish(parser: argparse.ArgumentParser) -> None:
    """Every option's help shows its default; the command's examples close its help."""
    for action in parser._actions:
        default = action.default
        if (action.help and action.help is not argparse.SUPPRESS and "default" not in action.help
                and default not in (None, False, argparse.SUPPRESS) and action.option_strings):
            shown = ",".join(map(str, default)) if isinstance(default, list | tuple) else default
            action.help += f" (default: {shown})".replace("%", "%%")
    name = parser.prog.split()[-1]
    if name in EXAMPLES and "examples:" not in (parser.epilog or ""):
        examples = "examples:\n" + "\n".join(f"  {line}" for line in EXAMPLES[name])
        parser.epilog = f"{parser.epilog}\n\n{examples}" if parser.epilog else examples


def _version() -> str:
    from scratchnn import __version__
    return f"scratchnn {__version__}"


def _parser() -> argparse.ArgumentParser:
    parser = Parser(prog="scratchnn",
                    description="scratchnn: deep learning from scratch on NumPy, with every "
                    "gradient verified.",
                    epilog="exit codes: 0 success, 2 bad usage or input, 3 the doctor found "
                    "problems, 130 interrupted.\n\nexamples:\n"
                    "  scratchnn train --dataset digits --epochs 5 --out runs/digits\n"
                    "  scratchnn report runs/digits\n  scratchnn train --help")
    parser.add_argument("--version", action="version", version=_version())
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                     parser_class=Parser)
    for name, (_, _, summary) in COMMANDS.items():
        commands.add_parser(name, help=summary, description=summary[0].upper() + summary[1:]
                            + ".", fill=_filler(name))
    return parser


def _one_line_warnings() -> None:
    """Library warnings as one line each ("scratchnn: warning: ..."); plotting noise silenced."""
    import warnings

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        from scratchnn.errors import one_line
        print(f"scratchnn: warning: {one_line(message)}", file=file or sys.stderr)

    warnings.showwarning = show
    warnings.filterwarnings("ignore", module="matplotlib")
    warnings.filterwarnings("ignore", category=UserWarning, message=".*[Aa]xis.*limits")


def _quiet_stdout() -> None:
    """After a closed pipe: send what is left to /dev/null so the exit flush cannot fail."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns its exit code. Ctrl-C at any moment (imports included) is
    caught here: exit 130 without a traceback."""
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return _run(argv)
    except KeyboardInterrupt as interrupt:
        message = str(interrupt) or "interrupted"
        checkpoint = getattr(interrupt, "checkpoint", None)
        if checkpoint is not None:
            import shlex
            message += ("; resume with: scratchnn train --resume "
                        f"{shlex.quote(str(checkpoint.parent))}")
        print(f"scratchnn: {message}", file=sys.stderr)
        return 130
    except BrokenPipeError:
        _quiet_stdout()
        return 0


def _run(argv: list[str] | None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = _parser().parse_args(argv)
    args.argv = argv                     # the command as given (the report shows it)
    _one_line_warnings()
    from scratchnn.errors import ScratchnnError, one_line

    try:
        return args.func(args)
    except ScratchnnError as error:
        print(f"scratchnn: error: {one_line(error, 400)}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, BrokenPipeError):
        raise
    except Exception as error:
        if os.environ.get("SCRATCHNN_DEBUG"):
            raise
        print(f"scratchnn: internal error ({type(error).__name__}): {one_line(error)} -- "
              "a bug in scratchnn; SCRATCHNN_DEBUG=1 shows where", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
