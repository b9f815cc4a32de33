"""Shell completion through click's own machinery: the script (`_DOCKDOCTOR_COMPLETE=bash_source`) and the
completers for check codes, slugs and platforms, as the shell asks for them."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from clirun import dockdoctor, isolated_env

from dockdoctor.checks import ALL_CHECKS
from dockdoctor.cli import cli


def _complete(words: str, shell: str = "bash") -> list[str]:
    """What click answers the shell for the last word of `words` (bash: one `type,value` per line)."""
    parts = words.split(" ")
    env = {"_DOCKDOCTOR_COMPLETE": f"{shell}_complete", "COMP_WORDS": words, "COMP_CWORD": str(len(parts) - 1)}
    result = CliRunner().invoke(cli, [], env=env, prog_name="dockdoctor")
    assert result.exit_code == 0, result.output
    return [line.split(",", 1)[1] for line in result.output.splitlines()]


def test_check_codes_complete_for_only_and_skip() -> None:
    assert _complete("dockdoctor check --only DKD20") == [s.id for s in ALL_CHECKS if s.id.startswith("DKD20")]
    assert "DKD301" in _complete("dockdoctor fix --skip dkd3")  # codes in any case
    assert _complete("dockdoctor check --only DKD201,DKD30")[0] == "DKD201,DKD301"  # the next one of a list


def test_slugs_complete_too_and_explain_takes_both() -> None:
    assert "image-lacks-target-platform" in _complete("dockdoctor check --skip image-lacks")
    assert "image-lacks-target-platform" in _complete("dockdoctor explain image-lacks")
    assert "DKD201" in _complete("dockdoctor explain DKD2")


def test_platforms_complete() -> None:
    assert _complete("dockdoctor check --platform linux/arm") == ["linux/arm64", "linux/arm/v7", "linux/arm/v6"]
    assert "linux/amd64" in _complete("dockdoctor inspect --platform linux/a")


def test_commands_and_options_complete() -> None:
    assert {"check", "fix", "inspect", "explain"} <= set(_complete("dockdoctor "))
    assert {"--color", "--quiet"} <= set(_complete("dockdoctor check --"))
    assert _complete("dockdoctor check --color ") == ["auto", "always", "never"]


def test_the_real_cli_prints_the_bash_script(tmp_path: Path) -> None:
    result = dockdoctor(env=isolated_env(tmp_path, _DOCKDOCTOR_COMPLETE="bash_source"))
    assert result.code == 0 and "_dockdoctor_completion()" in result.stdout
    assert "complete -o nosort -F _dockdoctor_completion dockdoctor" in result.stdout


def test_help_says_how_to_turn_completion_on() -> None:
    help_text = CliRunner().invoke(cli, ["--help"]).output
    assert 'eval "$(_DOCKDOCTOR_COMPLETE=bash_source dockdoctor)"' in help_text
    assert "_DOCKDOCTOR_COMPLETE=zsh_source" in help_text and "_DOCKDOCTOR_COMPLETE=fish_source" in help_text
