"""The consent policy of `fix`: what --yes accepts, and what each answer at the prompt does."""

from __future__ import annotations

from dockdoctor.fixes.consent import Answer, Consent, Decision, unattended_ok
from dockdoctor.model import Finding, Fix, FixItem, FixOption, Need, Safety, Severity, run


def _option(safety: Safety = Safety.SAFE, needs: tuple[Need, ...] = ()) -> FixOption:
    own = safety is Safety.UNSAFE or Need.PRIVILEGED in needs
    return FixOption(
        fix=Fix(title="t", steps=(run("true"),), safety=safety, needs=needs), runnable=True, needs_own_consent=own
    )


ITEM = FixItem(
    number=1,
    finding=Finding(id="DKD201", slug="s", severity=Severity.ERROR, title="t", subject="x", message="m"),
    options=(),
)
SAFE, UNSAFE, PRIVILEGED = _option(), _option(Safety.UNSAFE), _option(needs=(Need.PRIVILEGED,))


def test_yes_accepts_safe_fixes_and_the_others_only_with_their_flags() -> None:
    assert unattended_ok(SAFE, allow_unsafe=False, allow_privileged=False)
    assert not unattended_ok(UNSAFE, allow_unsafe=False, allow_privileged=True)
    assert unattended_ok(UNSAFE, allow_unsafe=True, allow_privileged=False)
    assert not unattended_ok(PRIVILEGED, allow_unsafe=True, allow_privileged=False)
    assert unattended_ok(PRIVILEGED, allow_unsafe=False, allow_privileged=True)
    assert Consent().decide(ITEM, UNSAFE) is Decision.SKIP
    assert Consent(allow_unsafe=True).decide(ITEM, UNSAFE) is Decision.APPLY


def _asking(*answers: Answer) -> tuple[Consent, list[FixOption]]:
    asked: list[FixOption] = []
    queue = list(answers)

    def ask(item: FixItem, opt: FixOption) -> Answer:
        asked.append(opt)
        return queue.pop(0)

    return Consent(ask=ask), asked


def test_yes_no_and_quit() -> None:
    consent, _ = _asking(Answer.YES, Answer.NO, Answer.QUIT)
    assert [consent.decide(ITEM, SAFE) for _ in range(3)] == [Decision.APPLY, Decision.SKIP, Decision.QUIT]


def test_all_accepts_the_rest_except_what_needs_its_own_consent() -> None:
    consent, asked = _asking(Answer.ALL, Answer.NO)
    assert consent.decide(ITEM, SAFE) is Decision.APPLY
    assert consent.decide(ITEM, SAFE) is Decision.APPLY  # not asked again
    assert consent.decide(ITEM, UNSAFE) is Decision.SKIP  # asked: unsafe needs its own yes
    assert asked == [SAFE, UNSAFE]
