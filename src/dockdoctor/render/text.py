"""The terminal report: one line per area with a status, then the findings with their fixes, then a summary."""

from __future__ import annotations

import shlex

from dockdoctor.model import EditFile, Facts, Finding, Fix, ImageFile, Manual, Report, RunCommand, Step
from dockdoctor.model.fixes import assert_never
from dockdoctor.render import RenderOptions

_STATUS = {
    "ok": ("[ok]  ", "green"),
    "info": ("[info]", "cyan"),
    "warning": ("[warn]", "yellow"),
    "error": ("[FAIL]", "red"),
}
_COLORS = {"green": 32, "cyan": 36, "yellow": 33, "red": 31, "bold": 1, "dim": 2}


def _paint(text: str, color: str, options: RenderOptions) -> str:
    return f"\x1b[{_COLORS[color]}m{text}\x1b[0m" if options.color else text


def _host(facts: Facts) -> str:
    host = facts.host
    parts = [f"{host.os}/{host.arch}"]
    if host.os_release:
        parts.append(host.os_release)
    if host.amd64_level:
        parts.append(f"x86-64-v{host.amd64_level}")
    if host.apple_silicon:
        parts.append("Apple Silicon" + (", shell translated by Rosetta" if host.rosetta_translated else ""))
    if host.wsl:
        parts.append("WSL")
    return ", ".join(parts)


def _engine(facts: Facts) -> str:
    engine = facts.engine
    where = f"{engine.endpoint or '(none)'} ({engine.endpoint_rule.value}"
    where += f", context {engine.context})" if engine.context and engine.context != "default" else ")"
    if not engine.reachable:
        return f"{engine.flavor.value}: not reachable at {where}"
    return f"{engine.flavor.value} {engine.server_version or '?'} {engine.platform or '?'} at {where}"


def _compose(facts: Facts) -> str:
    compose = facts.compose
    tools = [
        f"{'v2' if t.major >= 2 else 'v1'} {t.version} ({' '.join(t.command)})"
        for t in (compose.v2, compose.docker_compose)
        if t is not None
    ]
    unique = list(dict.fromkeys(tools))
    return ", ".join(unique) if unique else "not installed"


def _build(facts: Facts) -> str:
    buildx, emulation = facts.buildx, facts.emulation
    builder = f"buildx {buildx.version}, builder {buildx.current or '?'}" if buildx.installed else "no buildx"
    emulated = ", ".join(f"{e.platform} ({e.via.split(' ')[0]})" for e in emulation.emulated) or "none"
    return f"{builder}; emulation: {emulated}"


def _project(facts: Facts) -> str:
    project = facts.project
    assert project is not None
    parts = [f"{len(project.dockerfiles)} Dockerfile(s)"]
    if project.compose is not None:
        parts.append(f"compose: {len(project.compose.services)} service(s) ({project.compose.resolved_by})")
    if project.devcontainers:
        parts.append(f"{len(project.devcontainers)} dev container(s)")
    if project.deploy:
        parts.append("deploy files: " + ", ".join(f"{d.path} ({d.kind})" for d in project.deploy))
    return f"{project.root}: " + ", ".join(parts)


def area_lines(report: Report) -> list[tuple[str, str, str]]:
    """(area, status, one-line description) per area; status is ok | info | warning | error."""
    facts = report.facts
    engineless = bool(report.checks_skipped) and not facts.engine.endpoint  # `check --no-engine`
    rows = [] if engineless else [("DKD1", "Host", _host(facts)), ("DKD2", "Engine", _engine(facts))]
    if facts.images.remote or facts.images.containers:
        rows.append(
            ("DKD3", "Images", f"{len(facts.images.remote)} looked up, {len(facts.images.containers)} container(s)")
        )
    if not engineless:
        rows += [("DKD4", "Compose", _compose(facts)), ("DKD5", "Build & emulation", _build(facts))]
    if facts.project is not None:
        rows.append(("DKD6", "Project", _project(facts)))
    if facts.kube is not None:
        rows.append(("DKD24", "Cluster", facts.kube.summary))
    if report.worst("DKD0") is not None:
        rows.append(("DKD0", "dockdoctor", "some probes failed"))
    worst = {prefix: report.worst(prefix) for prefix, _, _ in rows}
    statuses = {prefix: severity.value if severity else "ok" for prefix, severity in worst.items()}
    return [(name, statuses[prefix], text) for prefix, name, text in rows]


def step_lines(step: Step, indent: str) -> list[str]:
    """One step of a fix, at `indent`: `$ argv`, `edit path:` with its diff two columns further in, `- words`."""
    match step:
        case RunCommand(argv=argv):
            return [f"{indent}$ {shlex.join(argv)}"]
        case EditFile(path=path, diff=diff):
            return [f"{indent}edit {path}:", *(f"{indent}  {line}" for line in diff.splitlines())]
        case Manual(text=text):
            return [f"{indent}- {text}"]
        case _:
            assert_never(step)


def _fix(fix: Fix) -> list[str]:
    serves = {"deploy": ["for the deploy target"], "local": ["to run here"]}.get(fix.serves, [])
    notes = serves + [fix.safety.value] + [f"needs {n.value}" for n in fix.needs]
    lines = [f"    fix: {fix.title} ({', '.join(notes)})"]
    for step in fix.steps:
        lines += step_lines(step, "      ")
    return lines


def cause_lines(finding: Finding, *, indent: str) -> list[str]:
    """An explained error's causes, as its evidence lists them (`cause.N.id` = status), and its source."""
    lines = []
    for e in finding.evidence:
        if e.field.startswith("cause."):
            lines.append(f"{indent}cause {e.field.split('.')[1]} ({e.value}): {e.suggests.split('] ', 1)[-1]}")
        elif e.field == "error.text":
            lines.append(f"{indent}seen: {e.value}")
        elif e.field == "error.signature" and e.suggests:
            lines.append(f"{indent}known from: {e.suggests}")
    return lines


def _finding(finding: Finding, options: RenderOptions) -> list[str]:
    _, color = _STATUS[finding.severity.value]
    head = f"{_paint(finding.severity.value.upper(), color, options)} {finding.id} {finding.slug}"
    if finding.target:
        head += f" [{finding.target}]"
    lines = [head, f"    {finding.message}"]
    lines += cause_lines(finding, indent="    ")
    if options.verbose:
        lines += [
            f"    evidence: {e.field} = {e.value}" + (f"  ({e.suggests})" if e.suggests else "")
            for e in finding.evidence
        ]
    for fix in finding.fixes:
        lines += _fix(fix)
    return lines


_VERDICT = {
    "exact": "native",
    "compatible": "native (compatible)",
    "emulated": "emulated",
    "unavailable": "NO",
    "unknown": "?",
}


def _images(report: Report) -> list[str]:
    lines: list[str] = []
    for image in report.facts.images.remote:
        lines.append("")
        if image.error is not None:
            detail = image.error.detail
            lines.append(detail if image.reference in detail else f"{image.reference}: {detail}")
            continue
        kind = f"{image.kind} {image.artifact_type}".strip()
        lines.append(f"{image.reference}  {kind}  {image.digest or ''}".rstrip())
        offered = ", ".join(p.platform for p in image.platforms) or "none"
        lines.append(
            f"    platforms: {offered}"
            + (f"  (+{len(image.attestations)} attestations, not platforms)" if image.attestations else "")
        )
        for verdict in (v for v in report.images if v.reference == image.reference):
            text = _VERDICT[verdict.verdict]
            if verdict.platform and verdict.verdict != "exact":
                text += f" as {verdict.platform}"
            if verdict.via:
                text += f" via {verdict.via}"
            if verdict.local_platform:
                text += f"; local copy {verdict.local_platform}"
                held = [f"holds {', '.join(verdict.local_platforms)}"] if len(verdict.local_platforms) > 1 else []
                held += [f"{', '.join(verdict.local_absent)} listed, not pulled"] if verdict.local_absent else []
                if held:
                    text += f" ({'; '.join(held)})"
                if verdict.local_digest_matches is False:
                    text += " (digest differs from the registry's)"
            lines.append(f"    on {verdict.target}: {text}")
        lines += _deep_lines(report, image.reference)
    return lines


def _size(n: int) -> str:
    return f"{n / 1024:.1f} KiB" if n < 1 << 20 else f"{n / (1 << 20):.1f} MiB"


def _file(f: ImageFile) -> str:
    if f.elf is not None:
        loader = f"loader {f.elf.interpreter}" if f.elf.interpreter else "static"
        level = f", x86-64-v{f.elf.isa_level}" if f.elf.isa_level and f.elf.isa_level > 1 else ""
        what = f"ELF {f.elf.arch or f'machine {f.elf.machine}'} {f.elf.bits}-bit, {loader}{level}"
    elif f.kind in ("script", "crlf"):
        what = f"script #!{f.shebang}" + (" (CRLF)" if f.kind == "crlf" else "")
    else:
        what = f.kind
    via = f" (via {'; '.join(f.links)})" if f.links else ""
    return f"{f.path}{via}: {what}"


def _deep_lines(report: Report, reference: str) -> list[str]:
    """--deep: the file each variant execs, and what reading it cost against a pull."""
    lines = []
    for d in (d for d in report.facts.images.deep if d.reference == reference):
        head = f"    deep {d.platform} (for {d.target}): "
        if d.entry is not None:
            head += _file(d.entry)
            for extra in (d.interpreter, d.loader):
                if extra is not None:
                    head += f"; {_file(extra)}"
        if d.error is not None:
            head += ("; " if d.entry is not None else "") + f"not read ({d.error.kind})"
        ratio = f" ({100 * d.bytes_read / d.compressed_size:.1f}%)" if d.compressed_size else ""
        if d.layers_read == 0 and d.layers and d.error is None:
            head += f"; answered from the layer cache ({d.layers} layers, {_size(d.compressed_size)})"
        elif d.layers:
            head += (
                f"; read {_size(d.bytes_read)} of {_size(d.compressed_size)}{ratio}, {d.layers_read} "
                f"layer stream(s) of {d.layers} layers"
            )
        lines.append(head)
    return lines


def render(report: Report, options: RenderOptions) -> str:
    if options.quiet:
        return "".join("\n".join(_finding(f, options)) + "\n" for f in report.findings)
    targets = ", ".join(f"{t.platform} ({t.source})" for t in report.targets)
    alone = "  targets: none (give --platform)" if report.checks_skipped else "  (from the text alone)"
    if report.facts.kube is not None:
        alone = f"  cluster: {report.facts.kube.context}"
    lines = [
        _paint(f"dockdoctor {report.dockdoctor_version}", "bold", options)
        + (f"  targets: {targets}" if targets else alone)
    ]
    if report.replayed_from:
        lines.append(
            f"replayed from {report.replayed_from} (gathered by dockdoctor "
            f"{report.facts.dockdoctor_version or '?'} at {report.facts.gathered_at or '?'})"
        )
    lines.append("")
    if options.images_only or options.explain:
        lines.pop()  # each image (and each finding) starts with its own blank line
    else:
        rows = area_lines(report)
        width = max((len(name) for name, _, _ in rows), default=0)
        for name, status, text in rows:
            label, color = _STATUS[status]
            lines.append(f"{_paint(label, color, options)} {name.ljust(width)}  {text}")
        if report.checks_skipped:
            reasons = dict.fromkeys(s.reason for s in report.checks_skipped)
            for reason in reasons:
                ids = [s.id for s in report.checks_skipped if s.reason == reason]
                lines.append(f"skipped {len(ids)} check(s) ({reason}): {', '.join(ids)}")
        lines.extend(
            f"suppressed {gone.finding.id} {gone.finding.subject} by {gone.file}:{gone.line}: {gone.reason}"
            for gone in report.suppressed
        )
    lines += _images(report)
    if options.verbose:
        lines += ["", *[f"  {k}={v}" for k, v in report.facts.environment]]
    for finding in report.findings:
        lines += ["", *_finding(finding, options)]
    summary = report.summary
    if options.explain:
        found = len(report.findings)
        lines += [
            "",
            f"{found} known error message(s) found"
            if found
            else "no known error message found (dockdoctor knows the messages in knowledge/signatures.toml)",
        ]
        return "\n".join(lines) + "\n"
    verdict = "Problems" if report.exit_code(options.threshold) else "OK"
    lines += [
        "",
        f"{verdict}: {summary.errors} error(s), {summary.warnings} warning(s), {summary.infos} info"
        f" ({summary.checks_run} checks, {summary.fixable} with fixes"
        + (f", {len(report.checks_skipped)} skipped)" if report.checks_skipped else ")"),
    ]
    return "\n".join(lines) + "\n"
