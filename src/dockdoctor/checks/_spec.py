"""CheckSpec and the @check decorator: one declaration of a check's identity next to its pure function."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from dockdoctor.model import Facts, Fixable, Problem, Severity
from dockdoctor.platforms import Platform


@dataclass(frozen=True, slots=True)
class Context:
    """What a check reads: the facts and the deploy target platforms."""

    facts: Facts
    targets: tuple[Platform, ...]


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
