"""Fixes as data: the steps that would resolve a finding, their safety and what they need."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import NoReturn


class Safety(str, Enum):
    """Whether `fix --yes` may apply a fix unattended."""

    SAFE = "safe"
    UNSAFE = "unsafe"
    DISPLAY_ONLY = "display-only"


class Need(str, Enum):
    """What a fix needs beyond the user's consent."""

    NETWORK = "network"
    REBUILD = "rebuild"
    PRIVILEGED = "privileged"
    SUDO = "sudo"
    RESTART = "restart"


@dataclass(frozen=True, slots=True)
class RunCommand:
    """Run a program: an argv list, never a shell string."""

    argv: tuple[str, ...]
    kind: str = "run"


@dataclass(frozen=True, slots=True)
class EditFile:
    """Change a file: `diff` is a unified diff against its current content."""

    path: str
    diff: str
    kind: str = "edit"


@dataclass(frozen=True, slots=True)
class Manual:
    """Something only the user can do, in words."""

    text: str
    kind: str = "manual"


Step = RunCommand | EditFile | Manual  # dispatch with `match step:` ending in `case _: assert_never(step)`


def assert_never(value: NoReturn) -> NoReturn:
    """typing.assert_never (Python 3.11) for 3.10: mypy proves a `match` handles every case before it."""
    raise AssertionError(f"unhandled case {value!r}")


@dataclass(frozen=True, slots=True)
class Fix:
    """One way to resolve a finding."""

    title: str
    steps: tuple[Step, ...]
    safety: Safety = Safety.SAFE
    needs: tuple[Need, ...] = ()
    serves: str = ""  # whom it serves: "deploy" (build or publish for a deploy target), "local" (run here), ""


def run(*argv: str) -> RunCommand:
    """Shorthand for a RunCommand step."""
    return RunCommand(argv=tuple(argv))


def manual(text: str) -> Manual:
    """Shorthand for a Manual step."""
    return Manual(text=text)


class OutcomeStatus(str, Enum):
    """What happened to one step: it ran (or the edit was written), it failed, or it was not run."""

    APPLIED = "applied"
    FAILED = "failed"
    SKIPPED = "skipped"

    def __str__(self) -> str:  # as the string it replaced: f"{kind}" and str() give the value (like StrEnum)
        return str(self.value)


@dataclass(frozen=True, slots=True)
class StepOutcome:
    """What happened to one step of an applied fix."""

    step: Step
    status: OutcomeStatus
    detail: str = ""
