"""Use cases behind the CLI: gather or replay facts, choose targets and checks, diagnose into a Report."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dockdoctor import __version__
from dockdoctor.config import Settings
from dockdoctor.errors import ConfigError, UnknownCheckError
from dockdoctor.model import (
    Applied,
    EndpointRule,
    EngineFacts,
    ErrorText,
    ExitCode,
    Facts,
    Finding,
    FixResult,
    HostFacts,
    Location,
    Manual,
    ProbeErrorKind,
    ProjectFacts,
    Report,
    Rule,
    Severity,
    Skipped,
    Step,
    Suppressed,
    Target,
)
from dockdoctor.platforms import PlatformError, format_platform, parse
from dockdoctor.redact import redact
from dockdoctor.reference import ReferenceError
from dockdoctor.reference import parse as parse_reference

if TYPE_CHECKING:  # the check catalog is imported where it is used: `check` starts its probes first
    from concurrent.futures import Future

    from dockdoctor.checks import CheckSpec
    from dockdoctor.fixes.consent import Consent  # `fix` only, as the fleet's report is `check --all-contexts`'s
    from dockdoctor.model.fleet import FleetReport
    from dockdoctor.probes.gathering import GatherOptions

IMAGE_CHECKS = (
    "DKD201",
    "DKD301",
    "DKD302",
    "DKD303",
    "DKD304",
    "DKD305",
    "DKD306",
    "DKD307",
    "DKD308",
    "DKD340",
    "DKD341",
    "DKD342",
    "DKD343",
    "DKD344",
)
NO_SETTINGS = Settings()  # no settings file
# `inspect` asks about the images it names: a lookup that fails (DKD307) leaves its question unanswered (exit 1)
INSPECT_SETTINGS = Settings(severity=(("DKD307", Severity.ERROR),))


def invalid_references(refs: Iterable[str]) -> tuple[str, ...]:
    """The reason each reference that is not an image reference fails (`inspect ''`), in order."""
    bad = []
    for text in refs:
        try:
            parse_reference(text)
        except ReferenceError as err:
            bad.append(str(err))
    return tuple(bad)


@dataclass(frozen=True, slots=True)
class CheckOptions:
    """What `dockdoctor check` was asked for."""

    platforms: tuple[str, ...] = ()
    only: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()
    timeout: float = 8.0  # the run's budget in seconds (--timeout)
    deadline: float | None = None  # time.monotonic() when the run must be over; None: timeout from the gather
    redact: bool = True
    redact_registries: bool = False
    keep_raw: bool = False
    project_dir: str | None = None  # None: do not scan a project
    compose_files: tuple[str, ...] = ()
    settings: Settings = dataclasses.field(default_factory=Settings)
    image_refs: tuple[str, ...] = ()  # references to look up (`dockdoctor inspect`)
    offline: bool = False
    refresh: bool = False
    tools: bool = True  # probe compose and buildx
    error_texts: tuple[ErrorText, ...] = ()  # `check --error`, `explain-error`: explained by DKD320
    deep: bool = False  # --deep: read each image's entrypoint file from its layers (DKD340-DKD344)
    no_engine: bool = False  # --no-engine: project scan and registry lookups only; engine checks are skipped
    kube: str | None = None  # --kube [CONTEXT]: read the cluster ("" = kubectl's current context); engine skipped
    kube_namespace: str | None = None  # --kube-namespace NS: that namespace only (default: every namespace)


def deploy_file_targets(facts: Facts) -> tuple[Target, ...]:
    """The targets the project's deploy files name, one per platform, with every source that names it."""
    sources: dict[str, list[str]] = {}
    for deploy in facts.project.deploy if facts.project else ():
        for target in deploy.targets:
            sources.setdefault(target.platform, []).append(str(target.source))
    return tuple(Target(platform=p, source=", ".join(dict.fromkeys(s)), intent="deploy") for p, s in sources.items())


def resolve_targets(facts: Facts, requested: Iterable[str], settings: Settings = NO_SETTINGS) -> tuple[Target, ...]:
    """The targets: --platform, else the project settings, else the deploy files, else the engine's native platform
    (the local target), else the host's."""
    settings = settings if settings is not None else Settings()
    requested = tuple(requested)
    source = "--platform" if requested else settings.source
    targets: list[Target] = []
    for text in requested or settings.targets:
        try:
            name = format_platform(parse(text))
        except PlatformError as err:
            raise ConfigError(f"{source} {text}: {err}") from None
        if all(t.platform != name for t in targets):
            targets.append(Target(platform=name, source=source))
    if targets:
        return tuple(targets)
    if deployed := deploy_file_targets(facts):
        return deployed
    if facts.engine.platform:
        return (Target(platform=facts.engine.platform, source="engine", intent="local"),)
    if not facts.host.arch:
        return ()  # `check --no-engine` without --platform, settings or deploy files: no target to judge against
    return (Target(platform=f"linux/{facts.host.arch}", source="host", intent="local"),)


def select_checks(only: Iterable[str], skip: Iterable[str]) -> tuple[CheckSpec, ...]:
    """The checks to run, from codes or slugs (comma-separated values allowed), in catalog (ID) order.

    Checks named by code load only their own modules (`inspect`'s checks: not the whole catalog)."""
    from dockdoctor.checks import lookup

    def specs(values: Iterable[str]) -> dict[str, CheckSpec]:
        found = (lookup(n.strip()) for v in values for n in v.split(",") if n.strip())
        return {spec.id: spec for spec in found}

    wanted, unwanted = specs(only), specs(skip)
    if wanted:
        return tuple(spec for code, spec in sorted(wanted.items()) if code not in unwanted)
    from dockdoctor.checks import ALL_CHECKS

    return tuple(s for s in ALL_CHECKS if s.id not in unwanted)


def rules(specs: Iterable[CheckSpec] | None = None) -> tuple[Rule, ...]:
    """Checks as the renderers see them (`--list-checks`, the rules of a SARIF document); default: every check."""
    if specs is None:
        from dockdoctor.checks import ALL_CHECKS

        specs = ALL_CHECKS
    return tuple(Rule(id=s.id, slug=s.slug, title=s.title, help=s.doc, severity=s.default_severity) for s in specs)


def _crashed(spec: CheckSpec, err: Exception) -> Finding:
    import traceback

    where = traceback.extract_tb(err.__traceback__)[-1]
    return Finding(
        id=spec.id,
        slug=spec.slug,
        severity=Severity.ERROR,
        title=spec.title,
        subject="dockdoctor",
        message=f"internal error in this check ({type(err).__name__}: {err} at "
        f"{where.filename.rsplit('/', 1)[-1]}:{where.lineno}); please report it",
    )


def severity_overrides(settings: Settings) -> dict[str, Severity]:
    """Check ID -> effective severity from the settings (codes or slugs)."""
    from dockdoctor.checks import lookup

    try:
        return {lookup(name).id: severity for name, severity in settings.severity}
    except UnknownCheckError as err:
        raise ConfigError(f"{settings.source_of('severity')}: severity: {err}") from None


_REFERENCES = (re.compile(r"\s*\((?:see )?(DKD\d{3})\)"), re.compile(r"[:;,]?\s*see (DKD\d{3})\b"))


def _without_references(text: str, present: set[str]) -> str:
    for pattern in _REFERENCES:
        text = pattern.sub(lambda m: m.group(0) if m.group(1) in present else "", text)
    return text


def drop_dangling_references(findings: list[Finding]) -> list[Finding]:
    """Findings whose messages, fix titles and manual steps mention only checks that are in the same report
    ("see DKD503" goes when no DKD503 finding is there)."""
    present = {f.id for f in findings}

    def step(item: Step) -> Step:
        return (
            dataclasses.replace(item, text=_without_references(item.text, present))
            if isinstance(item, Manual)
            else item
        )

    return [
        dataclasses.replace(
            f,
            message=_without_references(f.message, present),
            fixes=tuple(
                dataclasses.replace(
                    x, title=_without_references(x.title, present), steps=tuple(step(s) for s in x.steps)
                )
                for x in f.fixes
            ),
        )
        for f in findings
    ]


NO_ENGINE_REASON = "--no-engine: it reads host, engine, compose, buildx or emulation facts"
KUBE_REASON = (
    "--kube checks the cluster, not a docker engine: it reads host, engine, compose, buildx or emulation facts"
)


def location_of(subject: str, facts: Facts, given: Location | None = None) -> Location | None:
    """Where in the project a finding points: the file line its check gave (`given`), else a project file its
    subject names alone (line 1), or an image a Dockerfile's FROM names (that line); None for what is no project
    file (the host, the engine, a container, a service, an image reference), or a file outside the project."""
    import posixpath

    project = facts.project
    if project is None:
        return None
    root = project.root.rstrip("/")
    if given is None:
        for df in project.dockerfiles:  # an image a Dockerfile names: anchored to its first FROM line
            stage = next((st for st in df.stages if subject in (st.base, st.base_raw)), None)
            if stage is not None and not df.path.startswith("/"):
                return Location(file=posixpath.normpath(df.path), line=stage.line)
        if any(c.isspace() for c in subject):
            return None  # a sentence or `service web`: no file
    path, line, column = (given.file, given.line, given.column) if given else (subject, 1, 1)
    if root and path.startswith(root + "/"):
        path = path[len(root) + 1 :]
    if not path or path.startswith("/") or ".." in path.split("/") or line < 1:
        return None
    files = {df.path for df in project.dockerfiles} | _project_files(project)
    known = {posixpath.normpath(f[len(root) + 1 :] if root and f.startswith(root + "/") else f) for f in files}
    if posixpath.normpath(path) not in known:
        return None  # `redis:7` is an image reference, not line 7 of a file named redis
    return Location(file=posixpath.normpath(path), line=line, column=column)


def _project_files(project: ProjectFacts) -> set[str]:
    """Every file path the project facts name (Dockerfiles, compose files, devcontainers, deploy files)."""
    from dockdoctor.model.location import Place

    out: set[str] = set()

    def walk(value: object, depth: int = 0) -> None:
        if depth > 6 or isinstance(value, Place):  # a file line's file (a pin's requirements file) was never one
            return
        if dataclasses.is_dataclass(value):
            for field in dataclasses.fields(value):
                item = getattr(value, field.name)
                if field.name in ("path", "file", "files") and isinstance(item, str):
                    out.add(item)
                elif field.name in ("files",) and isinstance(item, tuple):
                    out.update(x for x in item if isinstance(x, str))
                else:
                    walk(item, depth + 1)
        elif isinstance(value, tuple):
            for item in value:
                walk(item, depth + 1)

    walk(project)
    return out


def diagnose(
    facts: Facts,
    *,
    targets: tuple[Target, ...],
    checks: tuple[CheckSpec, ...],
    replayed_from: str | None = None,
    overrides: dict[str, Severity] | None = None,
    skipped: tuple[Skipped, ...] = (),
    settings_files: tuple[str, ...] = (),
) -> Report:
    """Run the checks over the facts; one crashing check becomes a finding, the others still run. Findings an
    inline `# dockdoctor: ignore=...` comment covers move to `Report.suppressed`."""
    from dockdoctor.checks import Context

    ctx = Context.build(facts, targets)
    findings: list[Finding] = []
    overrides = overrides or {}
    for spec in checks:
        severity = overrides.get(spec.id, spec.default_severity)
        title = ""  # the check's title (its docstring cleaned), made at its first finding: once, not per finding
        try:
            for problem in spec.func(ctx):  # a check that crashes half-way keeps what it yielded
                title = title or spec.title
                findings.append(  # noqa: PERF401
                    Finding(
                        id=spec.id,
                        slug=spec.slug,
                        severity=severity,
                        title=title,
                        message=problem.message,
                        subject=problem.subject,
                        target=problem.target,
                        evidence=problem.evidence,
                        fixes=problem.fixes,
                        location=location_of(problem.subject, facts, problem.location),
                    )
                )
        except Exception as err:  # noqa: BLE001 - a broken check must not hide the others
            findings.append(_crashed(spec, err))
    findings, suppressed = suppress(findings, facts)
    findings = drop_dangling_references(findings)
    findings.sort(key=lambda f: (-f.severity.rank, f.id))
    return Report(
        facts=facts,
        targets=targets,
        findings=tuple(findings),
        checks_run=tuple(s.id for s in checks),
        dockdoctor_version=__version__,
        replayed_from=replayed_from,
        images=ctx.images,
        checks_skipped=skipped,
        suppressed=tuple(suppressed),
        settings_files=settings_files,
    )


def suppress(findings: list[Finding], facts: Facts) -> tuple[list[Finding], list[Suppressed]]:
    """The findings no inline comment covers, and those one does (a comment with a reason, naming the finding's
    check by code or slug, on the finding's line or the line above it)."""
    from dockdoctor.checks import lookup

    comments = []
    for item in facts.project.suppressions if facts.project else ():
        codes = set()
        for name in item.names:
            try:
                codes.add(lookup(name).id)
            except UnknownCheckError:
                continue  # DKD719 reports it
        if item.reason and codes:
            comments.append((item, codes))
    if comments:  # only then: a run without a project (`inspect`) does not import the comment parser
        from dockdoctor.project.suppressions import covers
    kept, gone = [], []
    for finding in findings:
        places = _places(finding, facts) if comments else []
        hit = next(
            (c for c, codes in comments if finding.id in codes and any(covers(c, f, n) for f, n in places)), None
        )
        if hit is None:
            kept.append(finding)
        else:
            gone.append(Suppressed(finding=finding, file=hit.file, line=hit.line, reason=hit.reason))
    return kept, gone


def _places(finding: Finding, facts: Facts) -> list[tuple[str, int]]:
    """Where a comment may suppress a finding: its location; for a compose service (no location), the lines of
    that service's keys (`image:`, `platform:`, `build:`) in the compose files."""
    if finding.location is not None:
        return [(finding.location.file, finding.location.line)]
    compose = facts.project.compose if facts.project else None
    name = finding.subject.removeprefix("service ") if finding.subject.startswith("service ") else None
    places = []
    for service in compose.services if compose is not None and name else ():
        if service.name == name:
            places += [(o.location.file, o.location.line) for o in service.origins if o.location is not None]
    return places


def _gather_options(options: CheckOptions) -> GatherOptions:
    """What every gather of `check` takes from its options: one engine's, and the fleet's for each context."""
    from dockdoctor.probes.gathering import GatherOptions

    return GatherOptions(
        timeout=options.timeout,
        deadline=options.deadline,
        project_dir=options.project_dir,
        compose_files=options.compose_files,
        image_refs=options.image_refs,
        offline=options.offline,
        refresh=options.refresh,
        tools=options.tools,
    )


def _start_gather(options: CheckOptions) -> Future[Facts]:
    """gather() for these options, started in a daemon thread; the future holds its facts or its exception."""
    import threading
    from concurrent.futures import Future

    from dockdoctor.probes._run import signals_to_the_main_thread
    from dockdoctor.probes.gathering import gather

    gather_options = dataclasses.replace(
        _gather_options(options),
        keep_raw=options.keep_raw,
        targets=_asked_targets(options),
        deep=options.deep,
        deep_targets=_asked_targets(options),
        engine=not options.no_engine and options.kube is None,
        kube_context=options.kube,
        kube_namespace=options.kube_namespace,
    )
    future: Future[Facts] = Future()

    def work() -> None:
        signals_to_the_main_thread()  # Ctrl-C stays the main thread's (probes/_run.py)
        try:
            future.set_result(gather(gather_options))
        except BaseException as err:  # noqa: BLE001 - raised again in the caller by future.result()
            future.set_exception(err)

    threading.Thread(target=work, name="gather", daemon=True).start()
    return future


def check(options: CheckOptions, *, replay: Facts | None = None, replayed_from: str | None = None) -> Report:
    """`dockdoctor check`: gather (or replay) the facts and diagnose them.

    The probes start first, in a thread of their own: importing the check catalog and choosing the checks
    then overlaps their waiting on the engine and the subprocesses instead of going before it.
    """
    gathering = _start_gather(options) if replay is None else None
    from dockdoctor.checks import needs_engine  # the catalog's import overlaps the probes' first waits

    try:
        checks = select_checks(options.only, options.skip + options.settings.ignore)
    except UnknownCheckError as err:
        if not options.settings.ignore:
            raise
        raise ConfigError(f"{options.settings.source_of('ignore')}: ignore: {err}") from None
    overrides = severity_overrides(options.settings)
    skipped: tuple[Skipped, ...] = ()
    if options.no_engine or (options.kube is not None and replay is None):
        reason = NO_ENGINE_REASON if options.no_engine else KUBE_REASON
        skipped = tuple(Skipped(id=s.id, slug=s.slug, reason=reason) for s in checks if needs_engine(s))
        checks = tuple(s for s in checks if not needs_engine(s))
    facts = gathering.result() if gathering is not None else replay
    assert facts is not None
    if options.error_texts:
        facts = dataclasses.replace(facts, error_texts=facts.error_texts + options.error_texts)
    if options.redact:
        facts = redact(facts, registries=options.redact_registries)
    return diagnose(
        facts,
        targets=resolve_targets(facts, options.platforms, options.settings),
        checks=checks,
        replayed_from=replayed_from,
        overrides=overrides,
        skipped=skipped,
        settings_files=options.settings.files,
    )


FLEET_CHECKS = ("DKD230", "DKD231")  # read Facts.fleet: they run once over the fleet, not per engine


def check_fleet(options: CheckOptions, *, names: tuple[str, ...] = ()) -> FleetReport:
    """`check --all-contexts` (names empty) or `--context NAME...`: a report per engine, then the fleet checks.

    With --all-contexts a context whose engine does not answer is listed, not judged; a named one is judged
    (its report says DKD201 engine-unreachable).
    """
    from dockdoctor.model import FleetEngine, ProbeError
    from dockdoctor.model.fleet import FleetReport, Unanswered
    from dockdoctor.probes.fleet import UnknownContext, gather_fleet

    try:
        checks = select_checks(options.only, options.skip + options.settings.ignore)  # bad names: an error now
    except UnknownCheckError as err:
        if not options.settings.ignore:
            raise
        raise ConfigError(f"{options.settings.source_of('ignore')}: ignore: {err}") from None
    fleet_checks = tuple(s for s in checks if s.id in FLEET_CHECKS)
    try:
        fleet = gather_fleet(_gather_options(options), names=names)
    except UnknownContext as err:
        raise ConfigError(
            f"--context {err.name}: no such docker context (known: {', '.join(err.known)}); "
            "`docker context ls` lists them"
        ) from None
    per_engine = dataclasses.replace(options, skip=options.skip + FLEET_CHECKS)
    reports, unanswered, engines = [], [], []
    for member in fleet.members:
        report = check(per_engine, replay=member.facts)
        engine = report.facts.engine
        if not engine.reachable and not names:
            error = engine.error or ProbeError(probe="engine", kind=ProbeErrorKind.ERROR, detail="no answer")
            unanswered.append(Unanswered(context=member.context, endpoint=engine.endpoint, error=error))
            continue
        reports.append(report)
        engines.append(
            FleetEngine(
                context=member.context,
                endpoint=engine.endpoint,
                reachable=engine.reachable,
                platform=engine.platform,
                current=member.current,
                images=member.images,
            )
        )
    findings: tuple[Finding, ...] = ()
    if reports and fleet_checks:
        base = next((r for r, e in zip(reports, engines, strict=False) if e.current), reports[0]).facts
        findings = diagnose(
            dataclasses.replace(base, fleet=tuple(engines)),
            targets=(),
            checks=fleet_checks,
            overrides=severity_overrides(options.settings),
        ).findings
    return FleetReport(
        reports=tuple(reports),
        findings=findings,
        unanswered=tuple(unanswered),
        dockdoctor_version=__version__,
        current=fleet.current,
        engines=tuple(engines),
    )


def _asked_targets(options: CheckOptions) -> tuple[str, ...]:
    """The targets asked for before the project is read: --platform, else the project settings (the tag search
    and --deep take the engine's platform when neither names one)."""
    out = []
    for text in options.platforms or options.settings.targets:
        try:
            out.append(format_platform(parse(text)))
        except PlatformError:
            continue  # resolve_targets reports it
    return tuple(dict.fromkeys(out))


EXPLAIN_CHECKS = ("DKD320",)


def explain_error(options: CheckOptions, *, probe: bool = True) -> tuple[Report, ExitCode]:
    """`dockdoctor explain-error`: the pasted errors explained, with the probes' facts (or from the text alone).

    The exit code: 0 when at least one message was recognised, 1 when none was.
    """
    options = dataclasses.replace(options, only=EXPLAIN_CHECKS, skip=())
    if probe:
        report = check(options)
    else:
        bare = Facts(
            host=HostFacts(os="", arch="", machine=""),
            engine=EngineFacts(endpoint="", endpoint_rule=EndpointRule.DEFAULT, context=None),
            dockdoctor_version=__version__,
        )
        bare = dataclasses.replace(bare, error_texts=options.error_texts)
        report = diagnose(bare, targets=(), checks=select_checks(EXPLAIN_CHECKS, ()))
    recognised = any(f.id in EXPLAIN_CHECKS for f in report.findings)
    return report, ExitCode.OK if recognised else ExitCode.FINDINGS


def cache_dir() -> str:
    """Where the registry cache lives: registry/ in dockdoctor's cache folder (DOCKDOCTOR_CACHE_DIR, or the
    platform's)."""
    from dockdoctor.probes.registry import RegistryOptions

    return str(RegistryOptions.from_env().cache_dir)


def clear_cache() -> int:
    """Remove the registry cache; the number of files removed."""
    from dockdoctor.probes.registry import clear_cache as clear

    return clear(cache_dir())


def fix(
    options: CheckOptions,
    *,
    consent: Consent,
    echo: Callable[[str], None],
    step_timeout: float,
    before: Report | None = None,
) -> FixResult:
    """Check, apply the fixes `consent` accepts (at most one per finding), then check again.

    A `q`uit answer ends the run like Ctrl-C between two fixes: the fixes applied so far stay, nothing is checked
    again, and the result says it was interrupted.
    """
    from dockdoctor.fixes.apply import Journal, apply_steps, sha256_of
    from dockdoctor.fixes.consent import Decision
    from dockdoctor.fixes.plan import edited_paths, plan
    from dockdoctor.probes.cache import cache_root

    before = before or check(options)
    items = plan(before)
    expected = {path: sha256_of(path) for path in edited_paths(items)}
    journal = Journal(cache_root(), options.project_dir or ".")
    applied: list[Applied] = []
    current: int | None = None
    try:
        for item in items:
            for opt in item.options:
                if not opt.runnable:
                    continue
                decision = consent.decide(item, opt)
                if decision is Decision.QUIT:
                    return FixResult(before, items, tuple(applied), None, interrupted=True)
                if decision is Decision.SKIP:
                    continue
                current = item.number
                outcomes = apply_steps(
                    opt.fix.steps,
                    expected=expected,
                    journal=journal,
                    echo=echo,
                    label=item.finding.id,
                    timeout=step_timeout,
                )
                applied.append(Applied(item.number, item.finding, opt.fix.title, tuple(outcomes)))
                current = None
                break
    except KeyboardInterrupt:
        return FixResult(before, items, tuple(applied), None, interrupted=True, interrupted_item=current)
    after = check(options) if applied else None
    return FixResult(before, items, tuple(applied), after)


def undo(project_dir: str) -> list[tuple[str, str, bool]]:
    """Restore the files the last `fix` in this project folder edited; (path, what happened, ok) per file."""
    from dockdoctor.fixes.apply import undo_last
    from dockdoctor.probes.cache import cache_root

    return undo_last(cache_root(), project_dir)
