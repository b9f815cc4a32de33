"""Closure: every edit fix of every fixture project and check example, applied to a copy, makes its finding go
and brings no new error. The project is gathered again from the edited copy (the pure parsers); the rest of the
facts are replayed (with the emulation a fix's own install step would add). No engine needed."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockdoctor import codec
from dockdoctor.app import diagnose, resolve_targets
from dockdoctor.checks import ALL_CHECKS
from dockdoctor.fixes.apply import patched
from dockdoctor.model import EditFile, EmulatedPlatform, Facts, Finding, Fix, RunCommand, Severity, key

ROOT = Path(__file__).resolve().parents[1]
PROJECTS = ROOT / "fixtures" / "projects"
REBUILT = ROOT / "fixtures" / "example-projects"
EXAMPLES = sorted((ROOT / "fixtures" / "checks").glob("DKD*/*.json"))
# the amd64 test engine, gathered without and with qemu-aarch64 registered
ENGINES = {
    "no-qemu": ROOT / "fixtures/checks/DKD420/bad-arm64-pin-no-qemu.json",
    "qemu": ROOT / "fixtures/checks/DKD420/good-arm64-pin-with-qemu.json",
}
TARGETS = ((), ("linux/arm64",), ("linux/amd64", "linux/arm64"))


def _facts(path: Path) -> tuple[Facts, tuple[str, ...]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return codec.facts_from_data(data, source=str(path)), tuple(data.get("_targets", ()))


def _gather(root: Path):  # -> ProjectFacts, from the pure parsers only (no `docker compose config`)
    """The project as `check` gathers it: its files, then what was built on the host (node_modules, .venv)."""
    import dockdoctor.probes.project as probe
    from dockdoctor.probes.natives import probe_host_built

    which, probe.shutil.which = probe.shutil.which, lambda name: None
    try:
        project = probe.probe_project(str(root), env={})
    finally:
        probe.shutil.which = which
    return dataclasses.replace(project, host_built=probe_host_built(project))


def _registry_answers() -> tuple:
    """Every registry answer recorded in the check examples gathered on the test environment."""
    seen: dict[str, object] = {}
    for path in EXAMPLES:
        facts, _ = _facts(path)
        if "dockdoctor-testenv" in facts.engine.endpoint:
            for image in facts.images.remote:
                seen.setdefault(image.reference, image)
    return tuple(seen.values())


def _emulation_added(fix: Fix) -> list[str]:
    """The platforms a fix's own steps register emulation for (binfmt --install ARCH, qemu-user-static)."""
    added = []
    for step in fix.steps:
        if isinstance(step, RunCommand) and "--install" in step.argv:
            added += [f"linux/{a}" for a in step.argv[step.argv.index("--install") + 1].split(",")]
        elif isinstance(step, RunCommand) and "qemu-user-static" in step.argv:
            added += ["linux/arm64", "linux/arm/v7", "linux/amd64", "linux/riscv64", "linux/ppc64le", "linux/s390x"]
    return added


def _edit_fixes(finding: Finding) -> Iterator[Fix]:
    for fix in finding.fixes:
        if any(isinstance(s, EditFile) for s in fix.steps):
            yield fix


def _errors(findings) -> set:
    return {key(f) for f in findings if f.severity is Severity.ERROR}


def _images_named(facts: Facts, project):  # -> ImageFacts
    """The registry answers a re-check would have: those of the references the edited project still names, and for
    a reference a tag fix wrote, what the tag search recorded of that candidate (its lookup is in the facts)."""
    from dockdoctor.model import ImagePlatform, RemoteImage
    from dockdoctor.probes.project_images import project_images

    known = {r.reference: r for r in facts.images.remote}
    for remote in facts.images.remote:
        for cand in remote.alternatives.candidates if remote.alternatives else ():
            if not cand.error and cand.reference not in known:
                known[cand.reference] = RemoteImage(
                    reference=cand.reference,
                    canonical=remote.canonical.rsplit(":", 1)[0] + ":" + cand.tag,
                    digest=cand.digest,
                    kind="index",
                    platforms=tuple(
                        ImagePlatform(platform=p, digest=cand.digest or "", media_type="") for p in cand.platforms
                    ),
                )
    named = set(project_images(project))
    kept = [r for r in facts.images.remote if r.reference in named or r.reference not in _project_refs(facts)]
    kept += [known[ref] for ref in named if ref in known and all(r.reference != ref for r in kept)]
    return dataclasses.replace(facts.images, remote=tuple(kept))


def _project_refs(facts: Facts) -> set[str]:
    from dockdoctor.probes.project_images import project_images

    return set(project_images(facts.project)) if facts.project is not None else set()


def _close(facts: Facts, requested: tuple[str, ...], root: Path, tmp: Path) -> list[str]:
    """Apply each edit fix of each finding to its own copy of `root`, gather again, check again: what failed."""
    before = diagnose(facts, targets=resolve_targets(facts, requested), checks=ALL_CHECKS)
    problems = []
    for n, finding in enumerate(before.findings):
        for m, fix in enumerate(_edit_fixes(finding)):
            copy = tmp / f"{n}-{m}"
            shutil.copytree(root, copy)
            for step in fix.steps:
                if isinstance(step, EditFile):
                    rel = Path(step.path).relative_to(facts.project.root)
                    target = copy / rel
                    text = target.read_text(encoding="utf-8") if target.exists() else ""
                    target.write_text(patched(text, step.diff), encoding="utf-8")
            emulated = facts.emulation.emulated + tuple(
                EmulatedPlatform(platform=p, via="qemu (installed by the fix)") for p in _emulation_added(fix)
            )
            project = dataclasses.replace(_gather(copy), root=facts.project.root)
            images = _images_named(facts, project)
            if _emulation_added(fix):  # containers that died for want of that emulator are run again (DKD507 says)
                images = dataclasses.replace(
                    images,
                    containers=tuple(
                        dataclasses.replace(c, exec_format_error=False, exit_code=0) for c in images.containers
                    ),
                )
            again = dataclasses.replace(
                facts, project=project, images=images, emulation=dataclasses.replace(facts.emulation, emulated=emulated)
            )
            after = diagnose(again, targets=resolve_targets(again, requested), checks=ALL_CHECKS)
            label = f"{finding.id} {finding.subject} [{finding.target}] fix {fix.title!r}"
            label += f" (targets {requested or 'default'})"
            if any(key(f) == key(finding) for f in after.findings):
                problems.append(f"{label}: the finding is still there")
            new = _errors(after.findings) - _errors(before.findings)
            if new:
                problems.append(f"{label}: new errors {sorted(new)}")
    return problems


def _project_cases() -> list[tuple[str, str, tuple[str, ...]]]:
    return [
        (p.name, engine, targets)
        for p in sorted(PROJECTS.iterdir())
        if p.is_dir()
        for engine in ENGINES
        for targets in TARGETS
    ]


@pytest.mark.parametrize(
    ("name", "engine", "requested"),
    _project_cases(),
    ids=lambda v: v if isinstance(v, str) else ",".join(v) or "default",
)
def test_fixture_project_fixes_close(name: str, engine: str, requested: tuple[str, ...], tmp_path: Path) -> None:
    base, _ = _facts(ENGINES[engine])
    root = tmp_path / name
    shutil.copytree(PROJECTS / name, root)
    project = _gather(root)
    facts = dataclasses.replace(
        base, project=project, images=dataclasses.replace(base.images, remote=_registry_answers())
    )
    assert _close(facts, requested, root, tmp_path / "copies") == []


def _example_root(facts: Facts) -> Path | None:
    """The shipped project an example was gathered from (its files are what the edits change): a fixture
    project, or one of fixtures/example-projects (rebuilt from examples gathered in /tmp/fxp/NAME, /tmp/emu/NAME or
    /tmp/natives/NAME/proj)."""
    if facts.project is None:
        return None
    match = re.search(r"fixtures/projects/([\w.-]+)$", facts.project.root)
    if match and (PROJECTS / match.group(1)).is_dir():
        return PROJECTS / match.group(1)
    match = re.search(r"^/tmp/(?:fxp|emu)/([\w.-]+)$", facts.project.root) or re.search(
        r"^/tmp/natives/([\w.-]+)/proj$", facts.project.root
    )
    return REBUILT / match.group(1) if match and (REBUILT / match.group(1)).is_dir() else None


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_check_example_fixes_close(path: Path, tmp_path: Path) -> None:
    facts, requested = _facts(path)
    report = diagnose(facts, targets=resolve_targets(facts, requested), checks=ALL_CHECKS)
    if not any(True for f in report.findings for _ in _edit_fixes(f)):
        return
    root = _example_root(facts)
    if root is None:
        pytest.skip(f"its project ({facts.project.root}) is not shipped: the edit has no file to apply to")
    copy = tmp_path / root.name
    shutil.copytree(root, copy)
    assert _close(facts, requested, copy, tmp_path / "copies") == []
