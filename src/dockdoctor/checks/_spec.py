"""CheckSpec and the @check decorator: one declaration of a check's identity next to its pure function."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from dockdoctor.model import Facts, Fixable, Problem, Severity, Target
from dockdoctor.platforms import Platform


@dataclass(frozen=True, slots=True)
class Context:
    """What a check reads: the facts and the target platforms (with their sources and intent in target_info)."""

    facts: Facts
    targets: tuple[Platform, ...]
    target_info: tuple[Target, ...] = ()

    def local(self, target: Platform) -> bool:
        """Whether `target` stands for running here (the engine's own platform), not for a deploy target."""
        from dockdoctor.platforms import format_platform

        name = format_platform(target)
        info = next((t for t in self.target_info if t.platform == name), None)
        return info is None and not self.target_info or info is not None and info.intent == "local"


CheckFunc = Callable[[Context], Iterator[Problem]]


@dataclass(frozen=True, slots=True)
class CheckSpec:
    """A check's stable identity (code, slug), default severity, fixability and function."""

    id: str
    slug: str
    default_severity: Severity
    fixable: Fixable
    func: CheckFunc

    @property
    def doc(self) -> str:
        return inspect.getdoc(self.func) or ""

    @property
    def title(self) -> str:
        return self.doc.splitlines()[0] if self.doc else self.slug


def check(
    code: str, slug: str, *, severity: Severity, fixable: Fixable = Fixable.NEVER
) -> Callable[[CheckFunc], CheckSpec]:
    """Declare a check; returns its CheckSpec (nothing is registered as a side effect)."""

    def wrap(func: CheckFunc) -> CheckSpec:
        return CheckSpec(id=code, slug=slug, default_severity=severity, fixable=fixable, func=func)

    return wrap
