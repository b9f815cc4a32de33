"""CheckSpec and the @check decorator: one declaration of a check's identity next to its pure function."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from dockdoctor.checks._verdicts import verdict, verdicts
from dockdoctor.model import Facts, Fixable, ImageVerdict, Problem, RemoteImage, Severity, Target
from dockdoctor.platforms import Platform, format_platform, parse


@dataclass(frozen=True, slots=True)
class Context:
    """What a check reads: the facts and the target platforms (with their sources and intent in target_info)."""

    facts: Facts
    targets: tuple[Platform, ...]
    target_info: tuple[Target, ...] = ()
    images: tuple[ImageVerdict, ...] = ()  # every looked-up image on every target (Context.build computes them)
    # images by (reference, target), the first of each: a check asks about every image, and a scan of all of
    # them per question grew with the square of the references
    _by_key: dict[tuple[str, str], ImageVerdict] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        for v in self.images:
            self._by_key.setdefault((v.reference, v.target), v)

    @classmethod
    def build(cls, facts: Facts, target_info: tuple[Target, ...]) -> Context:
        """The context of one diagnosis: the targets parsed, every image's verdict on each computed once."""
        targets = tuple(parse(t.platform) for t in target_info)
        return cls(facts=facts, targets=targets, target_info=target_info, images=verdicts(facts, targets))

    def verdict(self, image: RemoteImage, target: Platform) -> ImageVerdict:
        """How `image` fares on `target`: the verdict computed for the context, else computed now."""
        known = self._by_key.get((image.reference, format_platform(target)))
        return known if known is not None else verdict(self.facts, image, target)

    def local(self, target: Platform) -> bool:
        """Whether `target` stands for running here (the engine's own platform), not for a deploy target."""
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
        doc = self.doc  # inspect.getdoc cleans the whole docstring: once, not twice
        return doc.splitlines()[0] if doc else self.slug


def check(
    code: str, slug: str, *, severity: Severity, fixable: Fixable = Fixable.NEVER
) -> Callable[[CheckFunc], CheckSpec]:
    """Declare a check; returns its CheckSpec (nothing is registered as a side effect)."""

    def wrap(func: CheckFunc) -> CheckSpec:
        return CheckSpec(id=code, slug=slug, default_severity=severity, fixable=fixable, func=func)

    return wrap
