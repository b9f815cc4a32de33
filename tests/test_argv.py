"""dockdoctor._argv reads a command line as click will: whenever it gives an answer, click parses the same words
to the same values; whenever click would not simply run the command, it gives none (so no head start is made for
a command line click then refuses)."""

from __future__ import annotations

import click
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dockdoctor import _argv
from dockdoctor.cli import cli

REFS = ["busybox", "127.0.0.1:5555/app:arm64", "ghcr.io/o/r@sha256:" + "a" * 64, "-", "x y"]
WORDS = {
    "inspect": [
        *REFS,
        "--offline",
        "--refresh",
        "--deep",
        "--timeout",
        "5",
        "0.05",
        "nan",
        "inf",
        "601",
        "--timeout=3",
        "--timeout=",
        "--json",
        "--format",
        "json",
        "--format=markdown",
        "--format=yaml",
        "--color",
        "never",
        "--color=sometimes",
        "--platform",
        "linux/arm64",
        "--platform=linux/amd64",
        "--save-facts",
        "facts.json",
        "--no-redact",
        "-q",
        "-qq",
        "--quiet",
        "--",
        "-h",
        "--help",
        "-qh",
        "--nope",
        "-x",
        "--offline=1",
        "--refres",
    ],
    "check": [
        "--platform",
        "linux/arm64",
        "--from",
        "report.json",
        "--from=-",
        "--list-checks",
        "--no-engine",
        "--kube",
        "prod",
        "--all-contexts",
        "--context",
        "--context=ci",
        "-f",
        "compose.yaml",
        "-fcompose.yaml",
        "-vq",
        "--project",
        "--only",
        "DKD301",
        "--timeout",
        "2",
        "--",
        "--help",
        "stray",
    ],
}


def clicks(argv: list[str]) -> dict[str, object] | None:
    """The parameters click parses the command line to, or None when it refuses it (or answers --help)."""
    command = cli.commands[argv[0]]
    parent = click.Context(cli, info_name="dockdoctor", **cli.context_settings)  # as `dockdoctor COMMAND` makes it
    try:
        with command.make_context(argv[0], list(argv[1:]), parent=parent) as ctx:
            return dict(ctx.params)
    except (click.exceptions.Exit, click.ClickException, Exception):  # noqa: BLE001 - any refusal
        return None


def agree(argv: list[str]) -> None:
    words = _argv.read(argv)
    parsed = clicks(argv)
    if words is None:
        assert parsed is None  # (click answers --help by exiting: that is no parse either)
        return
    if parsed is None:  # a value only click's own type judges (a platform, a file): no harm in a head start
        return
    assert words.command == argv[0]
    for name, value in parsed.items():
        if name in ("refs", "texts"):
            assert tuple(words.args) == value
        elif name == "timeout":
            assert words.seconds() == value
        elif name in ("offline", "refresh", "deep", "list_checks", "no_engine", "all_contexts", "no_redact"):
            assert words.given(name) is value
        elif name in ("platforms", "contexts", "compose_files", "only", "skip"):
            assert tuple(words.options.get(name, ())) == value
        elif name in ("from_file", "kube", "save_facts", "project") and words.given(name):
            assert words.last(name) == value


@pytest.mark.parametrize(
    "argv",
    [
        ["inspect", "busybox"],
        ["inspect", "--offline", "a", "--refresh", "b", "--timeout", "3"],
        ["inspect", "a", "--timeout=0.5", "--", "--offline"],
        ["inspect", "-qq", "--format", "json", "a"],
        ["inspect", "--platform", "linux/arm64", "a", "--platform=linux/amd64"],
        ["check", "--no-engine"],
        ["check", "-vq", "-fcompose.yaml", "--from=-"],
        ["check", "--project", "--from"],  # --from is --project's value here: check gathers
    ],
)
def test_read_agrees_with_click(argv: list[str]) -> None:
    assert _argv.read(argv) is not None
    assert clicks(argv) is not None
    agree(argv)


@pytest.mark.parametrize(
    "argv",
    [
        ["inspect", "--timeout"],
        ["inspect", "a", "--timeout", "nan"],
        ["inspect", "a", "--timeout", "700"],
        ["inspect", "a", "--format", "yaml"],
        ["inspect", "a", "--offline=1"],
        ["inspect", "a", "--refres"],
        ["inspect", "a", "-x"],
        ["inspect", "a", "--help"],
        ["inspect", "a", "-qh"],
        ["nope", "a"],
        [],
    ],
)
def test_what_click_refuses_or_answers_otherwise_reads_as_none(argv: list[str]) -> None:
    assert _argv.read(argv) is None
    if argv and argv[0] in cli.commands:
        assert clicks(argv) is None


def test_shell_completion_reads_as_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_DOCKDOCTOR_COMPLETE", "bash_complete")
    assert _argv.read(["inspect", "a"]) is None


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_read_agrees_with_click_on_any_mix_of_the_words(data: st.DataObject) -> None:
    command = data.draw(st.sampled_from(sorted(WORDS)))
    words = data.draw(st.lists(st.sampled_from(WORDS[command] + REFS), max_size=8))
    agree([command, *words])
