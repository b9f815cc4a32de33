"""Which offered fixes to apply (pure): `--yes` with its flags, or the user's answer to each question."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

from dockdoctor.model import FixItem, FixOption, Need, Safety
from dockdoctor.model.fixes import assert_never


class Answer(str, Enum):
    """What the user may answer at a fix prompt."""

    YES = "y"
    NO = "n"
    ALL = "a"  # this one, and every later one that does not need its own consent
    QUIT = "q"  # no more fixes: the ones applied so far stay applied


class Decision(Enum):
    """What `app.fix` does with one offered fix."""

    APPLY = "apply"
    SKIP = "skip"
    QUIT = "quit"


Ask = Callable[[FixItem, FixOption], Answer]


def unattended_ok(opt: FixOption, *, allow_unsafe: bool, allow_privileged: bool) -> bool:
    """What `--yes` accepts: safe fixes; unsafe and privileged ones only with their own flags."""
    privileged = Need.PRIVILEGED in opt.fix.needs
    return (allow_privileged or not privileged) and (allow_unsafe or opt.fix.safety is not Safety.UNSAFE)


@dataclass(slots=True)
class Consent:
    """The consent policy of one `fix` run: unattended (`ask` is None) or asking the user fix by fix.

    An `a`ll answer accepts the later fixes without asking, except those that need their own consent (unsafe or
    privileged): they are always asked about.
    """

    allow_unsafe: bool = False
    allow_privileged: bool = False
    ask: Ask | None = None
    _all: bool = field(default=False, init=False)

    def decide(self, item: FixItem, opt: FixOption) -> Decision:
        if self.ask is None:
            ok = unattended_ok(opt, allow_unsafe=self.allow_unsafe, allow_privileged=self.allow_privileged)
            return Decision.APPLY if ok else Decision.SKIP
        if self._all and not opt.needs_own_consent:
            return Decision.APPLY
        answer = self.ask(item, opt)
        self._all = self._all or answer is Answer.ALL
        match answer:
            case Answer.YES | Answer.ALL:
                return Decision.APPLY
            case Answer.NO:
                return Decision.SKIP
            case Answer.QUIT:
                return Decision.QUIT
            case _:
                assert_never(answer)
