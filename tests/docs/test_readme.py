"""The README cannot drift: the tour's quick commands run and print what it shows (numbers aside),
every Python block runs in order after them, and every subcommand and flag it names exists (and
every subcommand that exists is in it). The Python blocks of docs/*.md run too."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from readme_blocks import (
    FLAG,
    bare_flags,
    command_lines,
    masked,
    python_blocks,
    section,
    transcript,
)

from scratchnn.cli import main

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
DOCS = sorted((ROOT / "docs").glob("*.md"))
SLOW = {"doctor"}      # about half a minute: its flags are checked, it is not run here


def scratchnn_help(capsys, *args: str) -> str:
    """What `scratchnn ARGS --help` prints (exit status 0)."""
    with pytest.raises(SystemExit) as done:
        main([*args, "--help"])
    assert done.value.code == 0
    return capsys.readouterr().out


@pytest.fixture(scope="module")
def tour(tmp_path_factory):
    """A folder where the tour's commands ran, as the README shows them -> {command: output}."""
    folder = tmp_path_factory.mktemp("tour")
    outputs = {}
    with pytest.MonkeyPatch.context() as patch, _Capture() as capture:
        patch.chdir(folder)
        for command in transcript(section(README, "A five-minute tour")):
            name = " ".join(command.argv[:2])
            if command.argv[0] == "python":
                done = subprocess.run([sys.executable, *command.argv[1:]], capture_output=True,
                                      text=True)
                status, out = done.returncode, done.stdout + done.stderr
            elif command.argv[1] in SLOW:
                continue
            else:
                status, out = main(command.argv[1:]), capture.read()
            assert status == 0, f"{name}: exit {status}\n{out}"
            outputs[" ".join(command.argv)] = (command, out)
    return folder, outputs


class _Capture:
    """stdout and stderr of in-process commands (capsys is per test; the tour is per module)."""

    def __enter__(self):
        import io

        self.buffer = io.StringIO()
        self.saved = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = self.buffer
        return self

    def read(self) -> str:
        text = self.buffer.getvalue()
        self.buffer.seek(0)
        self.buffer.truncate()
        return text

    def __exit__(self, *exc) -> None:
        sys.stdout, sys.stderr = self.saved


def test_the_tour_prints_what_the_readme_shows(tour):
    _, outputs = tour
    assert len(outputs) >= 6            # train x2, evaluate, report, python, predict, compare
    for line, (command, out) in outputs.items():
        shown = {masked(text) for text in out.replace("\r", "\n").splitlines()}
        for expected in command.output:
            if expected.strip() in ("...", "") or expected.startswith("("):
                continue
            assert masked(expected) in shown, f"`{line}` no longer prints:\n{expected}\n{out}"


def test_every_python_block_of_the_readme_runs_in_order(tour):
    folder, _ = tour
    code = python_blocks(README)
    assert len(code) >= 3
    namespace: dict = {"__name__": "__readme__"}
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        for block in code:
            exec(compile(block.body, f"README.md:{block.line}", "exec"), namespace)


def test_the_readme_has_no_untested_python():
    fenced = re.findall(r"^```(\w*)", README, re.M)
    assert fenced.count("python") == len(python_blocks(README))
    assert "python fragment" not in README


@pytest.mark.parametrize("page", DOCS, ids=lambda p: p.name)
def test_the_python_blocks_of_the_docs_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__docs__"}
    for block in python_blocks(page.read_text(encoding="utf-8")):
        exec(compile(block.body, f"{page.name}:{block.line}", "exec"), namespace)


def test_every_subcommand_the_readme_names_exists_and_every_one_is_named(capsys):
    top = scratchnn_help(capsys)
    listed = top.split("positional arguments:")[1].split("options:")[0]
    existing = set(re.findall(r"^    ([a-z][a-z-]*)\b", listed, re.M))
    named = {line.split()[1] for line in command_lines(README)}
    summary = {line.split()[1] for line in command_lines(section(README, "Command line"))}
    assert named <= existing, f"the README names commands that do not exist: {named - existing}"
    assert existing <= summary, f"missing from the README's summary: {existing - summary}"


def unknown_flags(pages: list[str], readme: str, help_of) -> list[str]:
    """`line: --flag` for each flag a page names that its command's --help does not list."""
    uses = [(line.split()[1], line) for page in pages for line in command_lines(page)]
    uses += [("train", flag) for flag in bare_flags(readme)]  # docs: maybe another command's
    missing = []
    for command, line in uses:
        for flag in FLAG.findall(line):
            if flag.startswith("--no-") and f"--{flag[5:]}" in help_of(command):
                continue            # --no-flip with --flip/--no-flip
            if not re.search(rf"{flag}\b", help_of(command)):
                missing.append(f"{line}: {flag}")
    return missing


@pytest.fixture
def help_of(capsys):
    cache: dict[str, str] = {}
    return lambda command: cache.get(command) or cache.setdefault(
        command, scratchnn_help(capsys, command))


def test_every_flag_the_readme_and_docs_name_exists(help_of):
    pages = [README, *(page.read_text(encoding="utf-8") for page in DOCS)]
    assert len([line for page in pages for line in command_lines(page)]) > 20
    assert unknown_flags(pages, README, help_of) == []


def test_a_flag_that_does_not_exist_is_caught(help_of):
    page = ("```\nscratchnn train --dataset digits --learning-rate 0.1\n```\n"
            "Set `--weight-decay` or `--l2-lambda`, or run `scratchnn predict RUN --topk 5`.\n")
    assert unknown_flags([page], page, help_of) == [
        "scratchnn train --dataset digits --learning-rate 0.1: --learning-rate",
        "scratchnn predict RUN --topk 5: --topk", "--l2-lambda: --l2-lambda"]
