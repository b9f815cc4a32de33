"""Output formats: a Format enum and the one exhaustive mapping to renderers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import NoReturn

from dockdoctor.model import Report, Rule, Severity


class Format(str, Enum):
    """The report formats `--format` accepts."""

    TEXT = "text"
    JSON = "json"
    MARKDOWN = "markdown"
    SARIF = "sarif"
    GITHUB = "github"
    GITLAB = "gitlab"


@dataclass(frozen=True, slots=True)
class RenderOptions:
    """How to render: colour, detail, and the threshold that decides the exit code shown in JSON."""

    color: bool = False
    verbose: bool = False
    threshold: Severity = Severity.ERROR
    images_only: bool = False  # `dockdoctor inspect`: the images, not the machine's areas
    explain: bool = False  # `dockdoctor explain-error`: the explained errors, not the machine's areas
    path_prefix: str = ""  # sarif, github, gitlab: the project folder relative to the checkout (the current folder)
    rules: tuple[Rule, ...] = ()  # sarif: the check catalog, given by the caller (renderers do not import checks)
    quiet: bool = False  # text: the findings only (`--quiet`), no header, areas or summary


def assert_never(value: NoReturn) -> NoReturn:
    raise AssertionError(f"unhandled format {value!r}")


def _shown(render: Callable[[Report, RenderOptions], str]) -> Callable[[Report, RenderOptions], str]:
    """The renderer behind the output boundary: every string of the report made visible once (render/safe.py)."""
    from dockdoctor.render import safe

    def shown(report: Report, options: RenderOptions) -> str:
        return render(safe.clean(report), options)

    return shown


def renderer_for(fmt: Format) -> Callable[[Report, RenderOptions], str]:
    """The render function of a format; text and Markdown see only sanitized strings (JSON escapes its own)."""
    if fmt is Format.TEXT:
        from dockdoctor.render import text

        return _shown(text.render)
    if fmt is Format.JSON:
        from dockdoctor.render import json as json_format

        return json_format.render
    if fmt is Format.MARKDOWN:
        from dockdoctor.render import markdown

        return _shown(markdown.render)
    if fmt is Format.SARIF:
        from dockdoctor.render import sarif

        return sarif.render  # JSON: escapes its own strings
    if fmt is Format.GITHUB:
        from dockdoctor.render import github

        return _shown(github.render)
    if fmt is Format.GITLAB:
        from dockdoctor.render import gitlab

        return gitlab.render  # JSON: escapes its own strings
    assert_never(fmt)
