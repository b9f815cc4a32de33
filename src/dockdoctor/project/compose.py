"""Compose files: our own resolution (YAML, interpolation, merge, extends) and the `docker compose config` model."""

from __future__ import annotations

import dataclasses
import json
import posixpath
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dockdoctor.model import (
    ComposeProject,
    Interpolated,
    Location,
    Origin,
    ProbeError,
    ProbeErrorKind,
    ServiceBuild,
    ServiceFacts,
)
from dockdoctor.project.interpolate import InterpolationError, interpolate

if TYPE_CHECKING:
    from ruamel.yaml.nodes import Node

RESOLVED_BY = "dockdoctor"
CONFIG_RESOLVED_BY = "docker compose config"
_STR = "tag:yaml.org,2002:str"
_NULL = "tag:yaml.org,2002:null"
_MERGE = "tag:yaml.org,2002:merge"
_MIN_NODES = 200_000  # alias expansion budget ("billion laughs"): this, or one node per two characters
_MAX_DEPTH = 200
_ORIGIN_KEYS = ("image", "platform", "build", "build.platforms")
_OVERRIDE = ("command", "entrypoint")  # sequences compose replaces instead of appending

Path = tuple[str, ...]


class ComposeFileError(ValueError):
    """A compose file compose would reject; `kind` is "parse" (YAML) or "config" (content, variables)."""

    def __init__(self, detail: str, *, kind: ProbeErrorKind = ProbeErrorKind.CONFIG) -> None:
        super().__init__(detail)
        self.kind = kind


@dataclass(frozen=True, slots=True)
class _Loaded:
    """One file after YAML, interpolation and extends: its plain tree and where each service key came from."""

    path: str
    tree: dict[str, object]
    origins: dict[Path, Origin]  # keyed by the value's path; their `key` is set per service (_service)


@dataclass(slots=True)
class _Walk:
    """State while turning one file's YAML nodes into plain values (mutable, private to one walk)."""

    path: str
    lookup: _Recorder
    sources: Mapping[str, Location]
    origins: dict[Path, Origin] = field(default_factory=dict)
    budget: int = _MIN_NODES


class _Recorder(Mapping[str, str]):
    """The environment, noting each variable interpolation actually read."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env
        self.used: list[str] = []

    def __getitem__(self, key: str) -> str:
        value = self._env[key]
        self.used.append(key)
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._env)

    def __len__(self) -> int:
        return len(self._env)


def parse_compose(
    files: Sequence[tuple[str, str]], *, env: Mapping[str, str], env_sources: Mapping[str, Location] | None = None
) -> ComposeProject:
    """Resolve compose files (path, text) as compose would: interpolate with `env`, merge in order, apply extends.

    `env_sources` says which `.env` line set a variable, for the origins (a variable not in it: the environment).
    """
    paths = tuple(path for path, _ in files)
    try:
        loaded = tuple(_load(path, text, env, env_sources or {}) for path, text in files)
        loaded = tuple(_apply_extends(item, loaded) for item in loaded)
    except ComposeFileError as error:
        return ComposeProject(
            files=paths, resolved_by=RESOLVED_BY, error=ProbeError(probe="project", kind=error.kind, detail=str(error))
        )
    tree: dict[str, object] = {}
    origins: dict[Path, Origin] = {}
    for item in loaded:
        tree = _mapping(_merge(tree, item.tree, ()))
        origins.update(item.origins)
    base = posixpath.dirname(paths[0]) if paths and posixpath.isabs(paths[0]) else ""
    services = _mapping(tree.get("services"))
    return ComposeProject(
        files=paths,
        resolved_by=RESOLVED_BY,
        version_key=_version_key(loaded),
        services=tuple(_service(name, _mapping(services[name]), origins, base) for name in sorted(services)),
    )


def from_config_json(text: str, *, files: Sequence[str]) -> ComposeProject:
    """The project `docker compose config --format json` printed (no line numbers: origins name the command)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        return ComposeProject(
            files=tuple(files),
            resolved_by=CONFIG_RESOLVED_BY,
            error=ProbeError(
                probe="project",
                kind=ProbeErrorKind.PARSE,
                detail=f"docker compose config: line {error.lineno}: {error.msg}",
            ),
        )
    except RecursionError:
        return ComposeProject(
            files=tuple(files),
            resolved_by=CONFIG_RESOLVED_BY,
            error=ProbeError(
                probe="project",
                kind=ProbeErrorKind.PARSE,
                detail="docker compose config: its answer is nested too deeply to read",
            ),
        )
    services = _mapping(data.get("services")) if isinstance(data, dict) else {}
    version = data.get("version") if isinstance(data, dict) else None
    return ComposeProject(
        files=tuple(files),
        resolved_by=CONFIG_RESOLVED_BY,
        version_key=None if version is None else str(version),
        services=tuple(
            _service(name, _mapping(services[name]), {}, "", resolved_by=CONFIG_RESOLVED_BY)
            for name in sorted(services)
        ),
    )


def service_lines(path: str, text: str) -> Mapping[str, Mapping[str, int]]:
    """service -> key -> 1-based line of that key ("" for the service itself, "build.platforms" for nested keys).

    Empty when the text is not YAML; parse_compose reports the error.
    """
    try:
        root = _compose_nodes(path, text)
    except ComposeFileError:
        return {}
    services = _child(root, "services")
    out: dict[str, dict[str, int]] = {}
    for key, value in _pairs(services):
        lines = {"": key.start_mark.line + 1}
        for sub_key, sub_value in _pairs(value):
            lines[sub_key.value] = sub_key.start_mark.line + 1
            for leaf_key, _ in _pairs(sub_value):
                lines[f"{sub_key.value}.{leaf_key.value}"] = leaf_key.start_mark.line + 1
        out[str(key.value)] = lines
    return out


def _load(path: str, text: str, env: Mapping[str, str], sources: Mapping[str, Location]) -> _Loaded:
    root = _compose_nodes(path, text)
    walk = _Walk(path=path, lookup=_Recorder(env), sources=sources, budget=max(_MIN_NODES, len(text) // 2))
    tree = _value(root, (), walk, 0) if root is not None else {}
    if tree is None:
        tree = {}
    if not isinstance(tree, dict):
        raise ComposeFileError(f"{path}:1: the top level must be a mapping (services:, networks: ...)")
    if "services" in tree and not isinstance(tree["services"] or {}, dict):
        raise ComposeFileError(f"{path}: services must be a mapping of service names")
    return _Loaded(path=path, tree=tree, origins=walk.origins)


def _compose_nodes(path: str, text: str) -> Node | None:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError
    from ruamel.yaml.nodes import Node as YamlNode

    try:
        root = YAML(typ="safe").compose(text)
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ComposeFileError(f"{path}{line}: {error.problem or error.context}", kind=ProbeErrorKind.PARSE) from error
    except YAMLError as error:
        raise ComposeFileError(f"{path}: {error}", kind=ProbeErrorKind.PARSE) from error
    except RecursionError:
        raise ComposeFileError(f"{path}: nested too deeply to parse", kind=ProbeErrorKind.PARSE) from None
    return root if isinstance(root, YamlNode) else None  # None: an empty file


def _value(node: Node, path: Path, walk: _Walk, depth: int) -> object:
    """The plain value of `node`: dicts, lists, interpolated strings; other scalars as YAML resolved them."""
    from ruamel.yaml.nodes import MappingNode, SequenceNode

    walk.budget -= 1
    if walk.budget < 0 or depth > _MAX_DEPTH:
        raise ComposeFileError(f"{walk.path}:{node.start_mark.line + 1}: too many nested or aliased values")
    if isinstance(node, MappingNode):
        return _mapping_value(node, path, walk, depth)
    if isinstance(node, SequenceNode):
        return [_value(item, path, walk, depth + 1) for item in node.value]
    return _scalar(node, walk)


def _scalar(node: Node, walk: _Walk) -> object:
    if node.tag == _NULL:
        return None
    if node.tag is not None and node.tag != _STR:
        return _typed(node.tag, node.value)
    try:
        return interpolate(node.value, walk.lookup)
    except InterpolationError as error:
        raise ComposeFileError(f"{walk.path}:{node.start_mark.line + 1}: {error}") from error


def _typed(tag: str, raw: str) -> object:
    if tag.endswith(":bool"):
        return raw.lower() == "true"
    if tag.endswith(":int"):
        try:
            return int(raw, 0)
        except ValueError:
            return raw
    return raw


def _mapping_value(node: Node, path: Path, walk: _Walk, depth: int) -> dict[str, object]:
    out: dict[str, object] = {}
    for source in _merge_sources(node):  # `<<: *anchor` keys first, explicit keys override them
        for key, value in _explicit_pairs(source, walk):
            out[key.value] = _keyed_value(key, value, path, walk, depth)
    return out


def _keyed_value(key: Node, value: Node, path: Path, walk: _Walk, depth: int) -> object:
    outer, walk.lookup.used = walk.lookup.used, []
    result = _value(value, (*path, str(key.value)), walk, depth + 1)
    used, walk.lookup.used = walk.lookup.used, outer
    outer.extend(used)
    here = (*path, str(key.value))
    if here[0] == "services" and 2 <= len(here) <= 4:
        walk.origins[here] = _origin(walk, key.start_mark.line + 1, used)
    return result


def _origin(walk: _Walk, line: int, used: Sequence[str]) -> Origin:
    via = []
    for name in dict.fromkeys(used):
        where = walk.sources.get(name)
        via.append(Interpolated(name=name, file=where.file, line=where.line) if where else Interpolated(name=name))
    return Origin(key="", file=walk.path, line=line, via=tuple(via))


def _merge_sources(node: Node) -> list[Node]:
    """The mappings whose keys `node` holds, lowest priority first: merged anchors, then `node` itself."""
    from ruamel.yaml.nodes import MappingNode, SequenceNode

    merged: list[Node] = []
    for key, value in node.value:
        if key.tag == _MERGE or (key.value == "<<" and key.tag != _STR):
            items = value.value if isinstance(value, SequenceNode) else [value]
            merged += [
                source for item in reversed(items) if isinstance(item, MappingNode) for source in _merge_sources(item)
            ]
    return [*merged, node]


def _explicit_pairs(node: Node, walk: _Walk) -> Iterator[tuple[Node, Node]]:
    seen: dict[str, int] = {}
    for key, value in node.value:
        if key.tag == _MERGE or (key.value == "<<" and key.tag != _STR):
            continue
        line = key.start_mark.line + 1
        if not isinstance(key.value, str):
            raise ComposeFileError(f"{walk.path}:{line}: mapping keys must be strings")
        if key.value in seen:
            raise ComposeFileError(
                f"{walk.path}:{line}: mapping key {key.value!r} already defined at line {seen[key.value]}"
            )
        seen[key.value] = line
        yield key, value


def _merge(base: object, other: object, path: Path) -> object:
    """Merge `other` (a later file) over `base` with compose's rules."""
    if len(path) == 3 and path[0] == "services" and path[2] == "build":
        base, other = _build_mapping(base), _build_mapping(other)
    if other is None:
        return base
    if isinstance(base, dict) and isinstance(other, dict):
        merged = dict(base)
        for key, value in other.items():
            merged[key] = _merge(base[key], value, (*path, key)) if key in base else value
        return merged
    if isinstance(base, list) and isinstance(other, list) and not (path and path[-1] in _OVERRIDE):
        return [*base, *other]  # appended, duplicates kept, as compose v2.40 prints them
    return other


def _build_mapping(value: object) -> object:
    return {"context": value} if isinstance(value, str) else value


def _apply_extends(item: _Loaded, loaded: Sequence[_Loaded]) -> _Loaded:
    services = _mapping(item.tree.get("services"))
    if not any(isinstance(s, dict) and "extends" in s for s in services.values()):
        return item
    origins = dict(item.origins)
    resolved = {name: _extended(name, item, loaded, origins, ()) for name in services}
    return _Loaded(path=item.path, tree={**item.tree, "services": resolved}, origins=origins)


def _extended(
    name: str, item: _Loaded, loaded: Sequence[_Loaded], origins: dict[Path, Origin], chain: tuple[str, ...]
) -> object:
    service = _mapping(_mapping(item.tree.get("services")).get(name))
    extends = service.get("extends")
    if extends is None:
        return service
    spec = {"service": extends} if isinstance(extends, str) else _mapping(extends)
    target, file = str(spec.get("service", "")), spec.get("file")
    source = _extends_file(item, loaded, file) if file else item
    key = f"{source.path}#{target}"
    if key in chain or target not in _mapping(source.tree.get("services")):
        what = "extends itself" if key in chain else f"extends {target!r}, which is not in {source.path}"
        raise ComposeFileError(f"{item.path}: service {name!r} {what}")
    parent = _mapping(_extended(target, source, loaded, origins, (*chain, key)))
    for (_, svc, *rest), where in list(source.origins.items()):
        if svc == target and (("services", name, *rest) not in origins):
            inherited: Path = ("services", name, *rest)
            origins[inherited] = where
    own = {k: v for k, v in service.items() if k != "extends"}
    return _merge({k: v for k, v in parent.items() if k not in ("depends_on", "volumes_from")}, own, ("services", name))


def _extends_file(item: _Loaded, loaded: Sequence[_Loaded], file: object) -> _Loaded:
    wanted = posixpath.normpath(posixpath.join(posixpath.dirname(item.path), str(file)))
    for other in loaded:
        if posixpath.normpath(other.path) == wanted:
            return other
    raise ComposeFileError(f"{item.path}: extends names {file}, which was not given to dockdoctor with the project")


def _version_key(loaded: Sequence[_Loaded]) -> str | None:
    for item in loaded:
        version = item.tree.get("version")
        if version is not None:
            return str(version)
    return None


def _service(
    name: str, data: Mapping[str, object], origins: Mapping[Path, Origin], base: str, *, resolved_by: str = ""
) -> ServiceFacts:
    build = _build(data.get("build"), base)
    values = {
        "image": data.get("image"),
        "platform": data.get("platform"),
        "build": build,
        "build.platforms": build.platforms if build else None,
    }
    found = []
    for key in (k for k in _ORIGIN_KEYS if values[k]):
        line = origins.get(("services", name, *key.split(".")))
        if resolved_by:
            found.append(Origin(key=key, resolved_by=resolved_by))
        elif line is not None:
            found.append(dataclasses.replace(line, key=key))
    return ServiceFacts(
        name=name,
        image=_text(data.get("image")),
        platform=_text(data.get("platform")),
        build=build,
        origins=tuple(found),
        volumes=_volumes(data.get("volumes")),
    )


def _volumes(value: object) -> tuple[str, ...]:
    """A service's volumes as "source:target" or "target" (anonymous), from the short or the long syntax."""
    out = []
    for item in value if isinstance(value, list) else []:
        if isinstance(item, str):
            parts = item.split(":")
            out.append(":".join(parts[:2]) if len(parts) >= 2 and parts[1].startswith("/") else parts[0])
        elif isinstance(item, dict) and isinstance(item.get("target"), str):
            source = item.get("source")
            out.append(f"{source}:{item['target']}" if isinstance(source, str) and source else item["target"])
    return tuple(out[:200])


def _build(value: object, base: str) -> ServiceBuild | None:
    spec = _mapping(_build_mapping(value))
    if value is None or not spec:
        return None
    context = _text(spec.get("context")) or "."
    if base and "://" not in context and not context.startswith(("git@", "github.com/")):
        context = posixpath.normpath(posixpath.join(base, context))
    platforms = spec.get("platforms")
    return ServiceBuild(
        context=context,
        dockerfile=_text(spec.get("dockerfile")) or "Dockerfile",
        target=_text(spec.get("target")),
        platforms=tuple(str(p) for p in platforms) if isinstance(platforms, list) else (),
    )


def _mapping(value: object) -> dict[str, object]:
    return value if isinstance(value, dict) else {}


def _text(value: object) -> str | None:
    return None if value is None or value == "" else str(value)


def _child(node: Node | None, name: str) -> Node | None:
    for key, value in _pairs(node):
        if key.value == name:
            return value
    return None


def _pairs(node: Node | None) -> list[tuple[Node, Node]]:
    from ruamel.yaml.nodes import MappingNode

    return list(node.value) if isinstance(node, MappingNode) else []
