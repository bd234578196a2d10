"""Reading a Markdown page the way its tests need it: fenced blocks, shell commands, flags."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

FENCE = re.compile(r"^```([^\n]*)\n(.*?)^```", re.S | re.M)
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
NUMBER = re.compile(r"[-+]?\d+(?:[.,]\d+)*(?:e[-+]?\d+)?")


@dataclass
class Block:
    info: str            # the fence's info string: "python", "python fragment", "" ...
    body: str
    line: int            # where the block starts in the page (1-based)


def blocks(text: str) -> list[Block]:
    return [Block(m.group(1).strip(), m.group(2), text.count("\n", 0, m.start()) + 1)
            for m in FENCE.finditer(text)]


def python_blocks(text: str) -> list[Block]:
    """The runnable Python blocks: fenced ```python, not marked ```python fragment."""
    return [b for b in blocks(text) if b.info == "python"]


def section(text: str, heading: str) -> str:
    """The text under `## heading`, up to the next heading of the same level."""
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end >= 0 else None]


@dataclass
class Command:
    argv: list[str]      # ["scratchnn", "train", ...] or ["python", "-c", ...]
    output: list[str]    # the lines shown after it, up to the next command


def transcript(text: str) -> list[Command]:
    """Every `$ command` in the shell blocks of `text`, with the output lines shown under it."""
    commands: list[Command] = []
    for block in blocks(text):
        if block.info.startswith("python"):
            continue
        for line in block.body.splitlines():
            if line.startswith("$ "):
                commands.append(Command(shlex.split(line[2:], comments=True), []))
            elif commands and line.strip():
                commands[-1].output.append(line)
    return commands


def command_lines(text: str) -> list[str]:
    """Every `scratchnn SUBCOMMAND ...` the page names: in shell blocks (the `$ ` lines of a
    transcript, else every line; wrapped synopses joined) and in inline code spans; comments
    removed."""
    found = []
    for block in blocks(text):
        if block.info.startswith("python"):
            continue
        transcript = "\n$ " in "\n" + block.body
        for line in block.body.splitlines():
            if transcript and not line.startswith("$ "):
                continue
            line = line.removeprefix("$ ")
            if line.startswith("scratchnn "):
                found.append(line.split("#")[0])
            elif line.startswith(" ") and found and found[-1] and line.strip().startswith("["):
                found[-1] += " " + line.split("#")[0].strip()        # a wrapped synopsis
    prose = FENCE.sub("", text)
    found += [span for span in re.findall(r"`([^`\n]+)`", prose) if span.startswith("scratchnn ")]
    return [line for line in found if re.fullmatch(r"[a-z][a-z-]*", line.split()[1])]


def bare_flags(text: str) -> set[str]:
    """Flags quoted on their own in the prose (`--l2-reg`): they are train's."""
    prose = FENCE.sub("", text)
    return {span.split()[0] for span in re.findall(r"`(--[a-z][^`\n]*)`", prose)}


def masked(line: str) -> str:
    """A line with every number replaced by # and runs of spaces by one: its shape, which
    must not drift, without the figures, which may differ on another machine."""
    return " ".join(NUMBER.sub("#", line).split())
