"""The project probe: find and read Dockerfiles, compose files, dev containers and .env in the project folder."""

from __future__ import annotations

import dataclasses
import errno
import os
import shutil
from collections.abc import Iterator, Mapping, Sequence

from dockdoctor.model import (
    CiWorkflow,
    ComposeProject,
    DeployFile,
    DeployTarget,
    DevcontainerFacts,
    DockerfileFacts,
    DotenvEntry,
    Line,
    Location,
    Origin,
    Place,
    ProbeError,
    ProbeErrorKind,
    ProjectFacts,
    Suppression,
)
from dockdoctor.probes._files import MAX_BYTES, Unread, inside, read_text  # noqa: F401 - MAX_BYTES: the cap, named here too
from dockdoctor.probes._run import run
from dockdoctor.project.dockerignore import Pattern, PatternError, matches, parse_dockerignore
from dockdoctor.project.suppressions import parse_suppressions

MAX_DEPTH = 6
MAX_ENTRIES = 20_000  # directory entries visited at most
SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        "__pycache__",
        ".venv",
        "venv",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".terraform",
        ".idea",
        ".gradle",
        "target",
    }
)
COMPOSE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
KEPT_ENV = ("DOCKER_", "COMPOSE_")


def is_dockerfile(name: str) -> bool:
    """Dockerfile, Dockerfile.dev, Dockerfile-prod, api.Dockerfile, api.dockerfile."""
    return name.startswith("Dockerfile") or name.lower().endswith(".dockerfile")


def _read(path: str, skipped: list[tuple[str, str]], *, root: str | None) -> str | None:
    """A project file's text, or None with the reason in `skipped` (outside `root`, not a regular file, too large...).

    `root` None: a file the user named (`-f`, COMPOSE_FILE), read wherever it is, but still only a regular file.
    """
    try:
        return read_text(path, root=root)
    except Unread as unread:
        skipped.append((path, unread.reason))
        return None


def walk(root: str, rules: Sequence[Pattern], skipped: list[tuple[str, str]]) -> Iterator[str]:
    """Files under root, depth-bounded, skipping tool folders, virtual environments, ignored paths and loops.

    A folder link that resolves outside the root is not followed (a link to `/` must not walk the host); an ignored
    folder is still searched when a later `!` line may bring files in it back.
    """
    seen: set[tuple[int, int]] = set()
    budget = [MAX_ENTRIES]
    real_root = os.path.realpath(root)
    exceptions = any(rule.exclusion for rule in rules)

    def visit(folder: str, depth: int) -> Iterator[str]:
        try:
            info = os.stat(folder)
        except OSError as err:
            skipped.append((folder, "symlink loop" if err.errno == errno.ELOOP else (err.strerror or str(err))))
            return
        if (info.st_dev, info.st_ino) in seen:
            skipped.append((folder, "symlink loop: this folder was already visited"))
            return
        seen.add((info.st_dev, info.st_ino))
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as err:
            skipped.append((folder, err.strerror or str(err)))
            return
        for entry in entries:
            budget[0] -= 1
            if budget[0] < 0:
                skipped.append((folder, f"more than {MAX_ENTRIES} entries: the rest was not searched"))
                return
            rel = os.path.relpath(entry.path, root).replace(os.sep, "/")
            ignored = bool(rules) and matches(rel, rules)
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            if ignored and not (is_dir and exceptions):
                continue
            if is_dir:
                if entry.name in SKIP_DIRS or os.path.exists(os.path.join(entry.path, "pyvenv.cfg")):
                    continue
                if _is_link(entry) and not inside(os.path.realpath(entry.path), real_root):
                    skipped.append((entry.path, "a link to a folder outside the project folder: not followed"))
                    continue
                if depth < MAX_DEPTH:
                    yield from visit(entry.path, depth + 1)
            elif not ignored:
                yield entry.path

    yield from visit(root, 0)


def _is_link(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_symlink()
    except OSError:
        return True


def find_compose_files(root: str, explicit: Sequence[str], env: Mapping[str, str]) -> tuple[str, ...]:
    """The compose files as compose picks them: -f, else COMPOSE_FILE, else the standard name plus its override."""
    if explicit:
        return tuple(os.path.abspath(f) for f in explicit)
    if env.get("COMPOSE_FILE"):
        separator = env.get("COMPOSE_PATH_SEPARATOR", os.pathsep)
        return tuple(os.path.abspath(os.path.join(root, f)) for f in env["COMPOSE_FILE"].split(separator) if f)
    for name in COMPOSE_NAMES:
        path = os.path.join(root, name)
        if os.path.lexists(path):  # a FIFO or a link out is picked as compose picks it, then reported unread
            stem, ext = os.path.splitext(name)
            override = os.path.join(root, f"{stem}.override{ext}")
            return (path, override) if os.path.lexists(override) else (path,)
    return ()


def _dotenv(
    root: str, env: Mapping[str, str], skipped: list[tuple[str, str]], errors: list[ProbeError]
) -> tuple[dict[str, str], dict[str, Location], tuple[DotenvEntry, ...], Line]:
    """The project's `.env`: its values, the line that set each, the DOCKER_*/COMPOSE_* entries, its last line."""
    from dockdoctor.project.dotenv import DotenvError, parse_dotenv

    path = os.path.join(root, ".env")
    text = _read(path, skipped, root=root) if os.path.lexists(path) else None
    lines = text.splitlines() if text else []
    end = Line(number=len(lines), text=lines[-1]) if lines else Line()
    values: dict[str, str] = {}
    sources: dict[str, Location] = {}
    if text is not None:
        try:
            for name, value, line in parse_dotenv(text, path=path, lookup=env):
                values[name], sources[name] = value, Location(file=".env", line=line)
        except DotenvError as err:
            errors.append(ProbeError(probe="project", kind=ProbeErrorKind.PARSE, detail=str(err)))
    kept = tuple(
        DotenvEntry(name=k, value=v, file=sources[k].file, line=sources[k].line)
        for k, v in values.items()
        if k.startswith(KEPT_ENV)
    )
    return values, sources, kept, end


def _compose(
    root: str,
    files: tuple[str, ...],
    env: Mapping[str, str],
    dotenv: Mapping[str, str],
    sources: Mapping[str, Location],
    skipped: list[tuple[str, str]],
    timeout: float,
    *,
    named: bool = False,
) -> ComposeProject:
    """Our resolution of the compose files, then compose's own; `named`: the user gave the files (-f, COMPOSE_FILE),
    so they are read wherever they are, else only inside the project folder."""
    from dockdoctor.project.compose import from_config_json, parse_compose

    texts = []
    for path in files:
        text = _read(path, skipped, root=None if named else root)
        if text is None:
            return ComposeProject(
                files=files,
                resolved_by="dockdoctor",
                error=ProbeError(
                    probe="project",
                    kind=ProbeErrorKind.READ,
                    detail=f"{path}: {next((r for p, r in skipped if p == path), 'missing')}",
                ),
            )
        texts.append((path, text))
    merged = {**dotenv, **env}  # the environment wins over .env, as in compose
    origins = {k: v for k, v in sources.items() if k not in env}  # the others come from the environment
    ours = _with_origin_lines(parse_compose(texts, env=merged, env_sources=origins), dict(texts))
    if not shutil.which("docker") or any(p == os.path.join(root, ".env") for p, _ in skipped):
        return ours  # compose would read the .env dockdoctor refused (a link out, a FIFO) and quote it in errors
    argv = (
        "docker",
        "compose",
        "--project-directory",
        root,
        *(a for f in files for a in ("-f", f)),
        "config",
        "--format",
        "json",
    )
    result = run("project", argv, timeout=timeout, env=env)
    if isinstance(result, ProbeError) or result.code != 0:
        if ours.error is not None:
            return ours
        text = result.detail if isinstance(result, ProbeError) else (result.stderr.strip() or result.stdout.strip())
        if isinstance(result, ProbeError) and result.kind == "not-found" or "is not a docker command" in text:
            return ours
        return dataclasses.replace(
            ours,
            error=ProbeError(
                probe="project", kind=ProbeErrorKind.COMPOSE, detail=f"docker compose config: {text.splitlines()[-1]}"
            ),
        )
    resolved = from_config_json(result.stdout, files=files)
    ours_by_name = {s.name: s for s in ours.services}
    services = tuple(
        dataclasses.replace(
            s,
            origins=ours_by_name[s.name].origins
            if s.name in ours_by_name
            else (Origin(key="service", resolved_by="docker compose config"),),
        )
        for s in resolved.services
    )
    return dataclasses.replace(resolved, services=services, version_key=ours.version_key)


def _line(lines: Sequence[str], number: int) -> str:
    return lines[number - 1] if 0 < number <= len(lines) else ""


def _with_lines(facts: DockerfileFacts, text: str) -> DockerfileFacts:
    """The FROM and ARG lines as written, so that fixes can show exact diffs."""
    lines = text.splitlines()
    return dataclasses.replace(
        facts,
        stages=tuple(dataclasses.replace(s, text=_line(lines, s.line)) for s in facts.stages),
        args=tuple(dataclasses.replace(a, text=_line(lines, a.line)) for a in facts.args),
    )


def _with_origin_lines(project: ComposeProject, texts: Mapping[str, str]) -> ComposeProject:
    lines = {path: text.splitlines() for path, text in texts.items()}

    def fill(origin: Origin) -> Origin:
        if origin.file not in lines or origin.line <= 0:
            return origin
        return dataclasses.replace(origin, text=_line(lines[origin.file], origin.line))

    return dataclasses.replace(
        project,
        services=tuple(dataclasses.replace(s, origins=tuple(fill(o) for o in s.origins)) for s in project.services),
    )


def _relative(project: ComposeProject, root: str) -> ComposeProject:
    """File names relative to the project root in origins and file lists ("compose.yaml:12")."""
    prefix = root.rstrip("/") + "/"

    def rel(text: str) -> str:
        return text.replace(prefix, "")

    services = tuple(
        dataclasses.replace(
            s, origins=tuple(dataclasses.replace(o, file=o.file.removeprefix(prefix)) for o in s.origins)
        )
        for s in project.services
    )
    error = dataclasses.replace(project.error, detail=rel(project.error.detail)) if project.error else None
    return dataclasses.replace(project, files=tuple(rel(f) for f in project.files), services=services, error=error)


def _devcontainer_compose(
    dev: DevcontainerFacts,
    root: str,
    project_files: tuple[str, ...],
    env: Mapping[str, str],
    dotenv: Mapping[str, str],
    sources: Mapping[str, Location],
    skipped: list[tuple[str, str]],
    timeout: float,
) -> DevcontainerFacts:
    """A dev container's own compose files (dockerComposeFile, relative to its folder), resolved like the project's."""
    folder = os.path.dirname(os.path.join(root, dev.path))
    files = tuple(os.path.normpath(os.path.join(folder, f)) for f in dev.compose_files)
    if not files or set(files) <= set(project_files):
        return dev
    return dataclasses.replace(
        dev, compose=_relative(_compose(root, files, env, dotenv, sources, skipped, timeout), root)
    )  # a project file names them: read inside the root only


def _dockerignore(root: str, skipped: list[tuple[str, str]]) -> tuple[Pattern, ...]:
    """The .dockerignore patterns; a file docker itself would refuse (a malformed pattern) is reported and unused."""
    path = os.path.join(root, ".dockerignore")
    text = _read(path, skipped, root=root) if os.path.lexists(path) else None
    if not text:
        return ()
    try:
        return parse_dockerignore(text)
    except PatternError as err:
        skipped.append((path, f"{err}; docker build refuses this file too"))
        return ()


def probe_project(
    root: str, *, compose_files: Sequence[str] = (), env: Mapping[str, str], timeout: float = 10.0
) -> ProjectFacts:
    """Everything in the project folder that decides which platforms get built, pulled and run."""
    root = os.path.abspath(root)
    skipped: list[tuple[str, str]] = []
    errors: list[ProbeError] = []
    rules = _dockerignore(root, skipped)
    dockerfiles: list[DockerfileFacts] = []
    devcontainers: list[DevcontainerFacts] = []
    suppressions: list[Suppression] = []
    paths = list(walk(root, rules, skipped))
    for path in paths:
        name = os.path.basename(path)
        rel = os.path.relpath(path, root).replace(os.sep, "/")
        if is_dockerfile(name):
            from dockdoctor.project.dockerfile import parse_dockerfile  # the parsers load when a file needs them

            text = _read(path, skipped, root=root)
            if text is not None:
                dockerfiles.append(_with_lines(parse_dockerfile(text, path=rel), text))
                suppressions += parse_suppressions(text, path=rel)
        elif rel == ".devcontainer.json" or (name == "devcontainer.json" and rel.startswith(".devcontainer/")):
            from dockdoctor.project.devcontainer import parse_devcontainer

            text = _read(path, skipped, root=root)
            dev = parse_devcontainer(text, path=rel) if text is not None else None
            if dev is not None and dev.error is not None and dev.error.kind == "nesting":
                skipped.append((path, "nested too deeply to parse"))  # not a mistake to point at: a file left unread
            elif dev is not None:
                devcontainers.append(dev)
    dotenv, sources, kept, dotenv_end = _dotenv(root, env, skipped, errors)
    files = find_compose_files(root, compose_files, env)
    named = bool(compose_files) or bool(env.get("COMPOSE_FILE"))
    compose = _compose(root, files, env, dotenv, sources, skipped, timeout, named=named) if files else None
    devcontainers = [
        _devcontainer_compose(d, root, files, env, dotenv, sources, skipped, timeout) for d in devcontainers
    ]
    if compose is not None:
        compose = _relative(compose, root)
    workflows = _workflows(root, skipped, suppressions)
    for path in files if compose is not None else ():
        text = _read(path, [], root=root) if inside(os.path.realpath(path), os.path.realpath(root)) else None
        suppressions += parse_suppressions(text or "", path=os.path.relpath(path, root).replace(os.sep, "/"))
    deploy = _deploy_files(root, paths, {os.path.abspath(f) for f in files})
    if compose is not None and (built := _compose_build_targets(compose)) is not None:
        deploy.append(built)
    return ProjectFacts(
        root=root,
        dockerfiles=tuple(dockerfiles),
        compose=compose,
        devcontainers=tuple(devcontainers),
        dotenv=kept,
        dotenv_end=dotenv_end,
        skipped=tuple(skipped),
        errors=tuple(errors),
        deploy=tuple(deploy),
        workflows=workflows,
        suppressions=tuple(suppressions),
    )


def _workflows(root: str, skipped: list[tuple[str, str]], suppressions: list[Suppression]) -> tuple[CiWorkflow, ...]:
    """.github/workflows/*.yml|yaml and .gitlab-ci.yml, read through the one file door whatever .dockerignore says
    (a CI file is not in the build context, and `.github` is often ignored there)."""
    folder = os.path.join(root, ".github", "workflows")
    try:
        names = sorted(e.name for e in os.scandir(folder)) if os.path.isdir(folder) else []
    except OSError as err:
        skipped.append((folder, err.strerror or str(err)))
        names = []
    rels = [f".github/workflows/{n}" for n in names] + [".gitlab-ci.yml", ".gitlab-ci.yaml"]
    found = []
    for rel in rels:
        path = os.path.join(root, *rel.split("/"))
        if not os.path.lexists(path):
            continue
        from dockdoctor.project.workflows import parse_workflow, workflow_kind  # when there is a file to read

        kind = workflow_kind(rel)
        if kind is None:
            continue
        text = _read(path, skipped, root=root)
        if text is not None:
            found.append(parse_workflow(text, path=rel, kind=kind))
            suppressions += parse_suppressions(text, path=rel)
    return tuple(found)


_DEPLOY_SUFFIXES = (".yaml", ".yml", ".json", ".toml", ".ts", ".py")
_TEST_DATA = frozenset(
    {"fixtures", "testdata", "tests", "test", "__tests__", "spec", "cdk.out"}
)  # not where it deploys


def _quiet_read(path: str, root: str) -> str | None:
    """A candidate deploy file's text, through the one file door (a FIFO named `deploy.yaml` must not block);
    files too large, unreadable or not regular are simply not candidates."""
    try:
        return read_text(path, root=root)
    except Unread:
        return None


def _deploy_files(root: str, paths: Sequence[str], compose_files: set[str]) -> list[DeployFile]:
    """Kubernetes manifests, Helm values, ECS/SAM/Serverless/CDK, CI workflows and fly.toml under the project."""
    folders = {os.path.dirname(p) for p in paths}
    charts = {f for f in folders if os.path.isfile(os.path.join(f, "Chart.yaml"))}
    cdk_roots = [f for f in folders if os.path.isfile(os.path.join(f, "cdk.json"))]
    found = []
    for path in paths:
        name = os.path.basename(path)
        if not name.lower().endswith(_DEPLOY_SUFFIXES) or os.path.abspath(path) in compose_files:
            continue
        rel = os.path.relpath(path, root).replace(os.sep, "/")
        if name.endswith(".json") and "task" not in name.lower() or _TEST_DATA & set(rel.split("/")[:-1]):
            continue
        cdk = any(path.startswith(r + os.sep) for r in cdk_roots)
        if name.endswith((".ts", ".py")) and not cdk:
            continue
        if name.endswith(".toml") and name != "fly.toml":
            continue
        text = _quiet_read(path, root)
        if text is None:
            continue
        from dockdoctor.project.deploy import deploy_kind, parse_deploy  # when a candidate file is there

        kind = deploy_kind(rel, helm_values=os.path.dirname(path) in charts, cdk=cdk, text=text)
        parsed = parse_deploy(text, path=rel, kind=kind) if kind else None
        if parsed is not None:
            found.append(parsed)
    return found


def _compose_build_targets(compose: ComposeProject) -> DeployFile | None:
    """What compose builds for: `build.platforms`, and `platform:` on services that build (a run pin on an
    `image:` service is a local workaround, not a deploy target)."""
    from dockdoctor.platforms import PlatformError, format_platform, parse

    targets: list[DeployTarget] = []
    for service in compose.services:
        if service.build is None:
            continue
        wanted = [("build.platforms", p) for p in service.build.platforms] or (
            [("platform", service.platform)] if service.platform else []
        )
        for key, text in wanted:
            origin = next((o for o in service.origins if o.key == key), None)
            what = f"services.{service.name}.{key}"
            if origin is not None and origin.location is not None:
                source = Place(origin.location.file, origin.location.line, what)
            else:  # no file line: the text as written, as a facts file reads it back
                where = origin.resolved_by if origin else compose.files[0] if compose.files else "compose"
                source = Place(f"{where} {what}")
            try:
                name = format_platform(parse(text))
            except PlatformError:
                continue
            targets.append(DeployTarget(platform=name, source=source))
    if not targets:
        return None
    return DeployFile(path=compose.files[0] if compose.files else "compose", kind="compose", targets=tuple(targets))
