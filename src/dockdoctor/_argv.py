"""A command's raw command line read before click is imported: its options, their values and its arguments.

click parses the command line once the CLI is imported (~50 ms in); the head starts must decide before that
(probes/_prestart.py for `check`, probes/early.py for `inspect`). They read the words here, with each command's
options as src/dockdoctor/_help_text.py keeps them (generated from the CLI; tests/test_help_fast.py fails when
they differ), the way click's parser reads them: `--opt VALUE`, `--opt=VALUE`, `-o VALUE`, `-oVALUE`, clustered
flags (`-qq`, `-qv`), `--` before arguments only, options and arguments in any order. Whatever click would
refuse or answer another way (an unknown option, a missing value, a value not among the choices or the
--timeout range, --help) reads as None: no head start is made, and click then says what is wrong.

Standard library only, and nothing of the model: it runs before anything is imported.
"""

from __future__ import annotations

import os

from dockdoctor._help_text import CHOICES, OPTIONS, SECONDS

TYPE_CHECKING = False  # not typing's: see _entry.py
if TYPE_CHECKING:
    from collections.abc import Sequence


class Words:
    """One command line as click will read it: the command, each option's values (a flag's: one "" per time
    given), and the arguments in order."""

    __slots__ = ("args", "command", "options")

    def __init__(self, command: str) -> None:
        self.command = command
        self.options: dict[str, list[str]] = {}
        self.args: list[str] = []

    def given(self, name: str) -> bool:
        return name in self.options

    def last(self, name: str) -> str | None:
        """The value click keeps for a single-valued option: the last one given."""
        values = self.options.get(name)
        return values[-1] if values else None

    def seconds(self) -> float:
        """--timeout as the command will read it (read() made sure it is valid)."""
        given = self.last("timeout")
        return float(given) if given is not None else SECONDS[self.command][0]


def read(argv: Sequence[str]) -> Words | None:
    """`COMMAND [words...]` (argv without the program) as click will parse it, or None when click would not
    simply run the command with these words (shell completion asks click something else)."""
    if not argv or argv[0] not in OPTIONS or "_DOCKDOCTOR_COMPLETE" in os.environ:
        return None
    command = argv[0]
    table = OPTIONS[command]
    words = Words(command)
    rest = list(reversed(argv[1:]))  # the words still to read, the next one last: each taken in O(1)
    while rest:
        word = rest.pop()
        if word == "--":
            words.args += reversed(rest)
            break
        if word.startswith("--"):
            opt, eq, value = word.partition("=")
            entry = table.get(opt)
            if entry is None or (eq and not entry[1]):
                return None
            if entry[1] and not eq:
                if _left_out(entry, rest):
                    value = ""
                elif not rest:
                    return None
                else:
                    value = rest.pop()
            if not _keep(words, entry, value):
                return None
        elif word.startswith("-") and word != "-":
            cluster = word[1:]
            while cluster:
                entry = table.get("-" + cluster[0])
                cluster = cluster[1:]
                if entry is None:
                    return None
                if not entry[1]:
                    if not _keep(words, entry, ""):
                        return None
                    continue
                if not cluster:
                    if _left_out(entry, rest):
                        rest.append("")
                    elif not rest:
                        return None
                    cluster = rest.pop()
                if not _keep(words, entry, cluster):
                    return None
                cluster = ""
        else:
            words.args.append(word)
    if not all(_valid(command, name, values[-1]) for name, values in words.options.items()):
        return None  # the value click keeps of a single-valued option is the last one given
    return words


def _left_out(entry: tuple[str, int], rest: list[str]) -> bool:
    """An option whose value may be left out (`--kube [CONTEXT]`) gets none when no word follows or the next
    one (rest's last) looks like an option (click's parser: _get_value_from_state)."""
    return entry[1] == -1 and (not rest or (rest[-1].startswith("-") and len(rest[-1]) > 1))


def _keep(words: Words, entry: tuple[str, int], value: str) -> bool:
    """Record one option's value (a flag's: ""); --help, or an option of several values, is click's to answer."""
    name, takes = entry
    if name == "help" or takes > 1:
        return False
    words.options.setdefault(name, []).append(value)
    return True


def _valid(command: str, name: str, value: str) -> bool:
    """Whether click's type takes the value: a choice among its choices, --timeout a number in its range."""
    choices = CHOICES[command].get(name) if command in CHOICES else None
    if choices is not None:
        return value in choices
    if name == "timeout":
        try:
            seconds = float(value)
        except ValueError:
            return False
        _, low, high = SECONDS[command]
        return low <= seconds <= high  # false for nan; inf is out of range
    return True
