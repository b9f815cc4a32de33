"""JSON for Facts and Reports: a lossless round-trip driven by the dataclasses' own type hints."""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from enum import Enum
from functools import cache
from typing import TYPE_CHECKING, Any, Union

from dockdoctor.errors import ReplayFileError
from dockdoctor.model import (
    REPORT_VERSION,
    SCHEMA_VERSION,
    EditFile,
    Facts,
    FixResult,
    Manual,
    ProbeErrorKind,
    Report,
    RunCommand,
    Severity,
)
from dockdoctor.model.location import WIRED
from dockdoctor.model.migrate import migrate
from dockdoctor.platforms import PlatformError, parse

if TYPE_CHECKING:  # the fleet's classes where a fleet is written: one engine's report never needs them
    from dockdoctor.model.fleet import FleetReport

_STEP_KINDS: dict[str, type] = {"run": RunCommand, "edit": EditFile, "manual": Manual}
# Fields that hold a normalized platform (not one as a project file wrote it): a replayed file must parse there.
_PLATFORM_FIELDS = frozenset(
    {
        ("EngineFacts", "platform"),
        ("Builder", "platforms"),
        ("BinfmtHandler", "platform"),
        ("EmulatedPlatform", "platform"),
        ("ImagePlatform", "platform"),
        ("LocalImage", "platform"),
        ("ContainerFacts", "platform"),
        ("Target", "platform"),
        ("HostFacts", "arch"),
        ("FleetEngine", "platform"),
    }
)


def to_data(value: object) -> Any:
    """Plain JSON data for a dataclass tree (enums as their values, tuples as lists; a record with a `WIRE` form,
    such as model.location's, as that form)."""
    names = _field_names(type(value))
    if names is not None:
        if isinstance(value, WIRED):
            return to_data(value.to_wire())
        return {name: to_data(getattr(value, name)) for name in names}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (tuple, list)):
        return [to_data(v) for v in value]
    return value


_FIELD_NAMES: dict[type, tuple[str, ...] | None] = {}


def _field_names(cls: type) -> tuple[str, ...] | None:
    """The fields of a dataclass's instances, in order; None for any other type (a class itself is no instance)."""
    if cls not in _FIELD_NAMES:
        _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls)) if dataclasses.is_dataclass(cls) else None
    return _FIELD_NAMES[cls]


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def from_data(tp: Any, data: Any, where: str = "$") -> Any:
    """Build a value of type `tp` from plain JSON data; raises ValueError naming the path on a mismatch."""
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = typing.get_args(tp)
        if data is None and type(None) in args:
            return None
        if all(a in _STEP_KINDS.values() for a in args if a is not type(None)):
            kind = data.get("kind") if isinstance(data, dict) else None
            if kind not in _STEP_KINDS:
                raise ValueError(f"{where}: unknown step kind {kind!r}")
            return from_data(_STEP_KINDS[kind], data, where)
        (inner,) = [a for a in args if a is not type(None)]
        return from_data(inner, data, where)
    if origin is tuple:
        args = typing.get_args(tp)
        if not isinstance(data, list):
            raise ValueError(f"{where}: expected a list")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(from_data(args[0], v, f"{where}[{i}]") for i, v in enumerate(data))
        if len(args) != len(data):
            raise ValueError(f"{where}: expected {len(args)} items")
        return tuple(from_data(a, v, f"{where}[{i}]") for i, (a, v) in enumerate(zip(args, data, strict=False)))
    if tp in WIRED:  # read as written, then into the record (which never fails)
        return tp.from_wire(from_data(tp.WIRE, data, where))
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        if not isinstance(data, dict):
            raise ValueError(f"{where}: expected an object")
        hints = _hints(tp)
        kwargs = {}
        for f in dataclasses.fields(tp):
            if f.name in data:
                kwargs[f.name] = from_data(hints[f.name], data[f.name], f"{where}.{f.name}")
                if (tp.__name__, f.name) in _PLATFORM_FIELDS:
                    _check_platforms(kwargs[f.name], f"{where}.{f.name}")
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ValueError(f"{where}: missing {f.name!r}")
        return tp(**kwargs)
    if isinstance(tp, type) and issubclass(tp, Enum):
        try:
            return tp(data)
        except ValueError:
            if tp is ProbeErrorKind and isinstance(data, str):
                return ProbeErrorKind.ERROR  # a kind a newer dockdoctor reports: the detail still says what failed
            raise ValueError(f"{where}: {data!r} is not one of {[m.value for m in tp]}") from None
    if tp is float and isinstance(data, (int, float)) and not isinstance(data, bool):
        return float(data)
    if tp in (str, int, bool) and type(data) is tp:
        return data
    raise ValueError(f"{where}: expected {getattr(tp, '__name__', tp)}, got {type(data).__name__}")


def _check_platforms(value: object, where: str) -> None:
    for text in value if isinstance(value, tuple) else () if value is None else (value,):
        if not text or text == "unknown":
            continue  # "not known" (an index entry without a platform is "unknown"): the checks treat it so
        try:
            parse(f"linux/{text}" if where.endswith(".host.arch") else str(text))
        except PlatformError as err:
            raise ValueError(f"{where}: {err}") from None


def facts_to_json(facts: Facts) -> str:
    """The facts file format (what `check --from` reads)."""
    return json.dumps(to_data(facts), indent=2, sort_keys=False) + "\n"


def facts_from_data(data: Any, *, source: str) -> Facts:
    """Facts from parsed JSON: a facts file, or the `facts` of a report; older schemas are migrated, newer refused."""
    if isinstance(data, dict) and "facts" in data and "dockdoctor_report_version" in data:
        data = data["facts"]
    if not isinstance(data, dict):
        raise ReplayFileError(f"{source}: not a dockdoctor facts file (expected a JSON object)")
    version = data.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ReplayFileError(f"{source}: not a dockdoctor facts file (no schema_version)")
    if version < 1:
        raise ReplayFileError(f"{source}: schema_version {version} is not one dockdoctor ever wrote (they start at 1)")
    if version > SCHEMA_VERSION:
        raise ReplayFileError(
            f"{source}: facts schema {version} is newer than this dockdoctor understands"
            f" ({SCHEMA_VERSION}); upgrade dockdoctor to replay it"
        )
    try:
        facts: Facts = from_data(Facts, migrate(data, version, SCHEMA_VERSION))
        return facts
    except ValueError as err:
        raise ReplayFileError(f"{source}: invalid facts file: {err}") from None
    except RecursionError:
        raise ReplayFileError(f"{source}: invalid facts file: nested too deeply") from None
    return facts


def facts_from_json(text: str, *, source: str = "<facts>") -> Facts:
    """Facts from a facts file's or a report's text; raises ReplayFileError (never another error) for bad input."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ReplayFileError(f"{source}: not valid JSON ({err.msg} at line {err.lineno})") from None
    except RecursionError:
        raise ReplayFileError(f"{source}: JSON nested too deeply for a facts file") from None
    except ValueError as err:  # e.g. an integer too long to convert
        raise ReplayFileError(f"{source}: not valid JSON ({err})") from None
    return facts_from_data(data, source=source)


def report_to_data(report: Report, *, exit_code: int) -> dict[str, Any]:
    """The JSON report: the support-ticket contract (keys pinned by tests)."""
    return {
        "dockdoctor_report_version": REPORT_VERSION,
        "schema_version": report.facts.schema_version,
        "dockdoctor_version": report.dockdoctor_version,
        "gathered_by": report.facts.dockdoctor_version,
        "replayed_from": report.replayed_from,
        "targets": to_data(report.targets),
        "facts": to_data(report.facts),
        "findings": to_data(report.findings),
        "images": to_data(report.images),
        "checks_run": list(report.checks_run),
        "checks_skipped": to_data(report.checks_skipped),
        "suppressed": to_data(report.suppressed),
        "settings_files": list(report.settings_files),
        "summary": {**to_data(report.summary), "exit_code": exit_code},
    }


def fleet_to_data(fleet: FleetReport, *, threshold: Severity = Severity.ERROR) -> dict[str, Any]:
    """The JSON fleet document: the summary, the fleet's findings and engines, then each engine's full report."""
    from dockdoctor.model.fleet import FLEET_VERSION

    return {
        "dockdoctor_fleet_version": FLEET_VERSION,
        "dockdoctor_version": fleet.dockdoctor_version,
        "current_context": fleet.current,
        "summary": to_data(fleet.rows),
        "findings": to_data(fleet.findings),
        "unanswered": to_data(fleet.unanswered),
        "fleet": to_data(fleet.engines),
        "reports": [report_to_data(r, exit_code=int(r.exit_code(threshold))) for r in fleet.reports],
        "exit_code": int(fleet.exit_code(threshold)),
    }


FIX_VERSION = 2  # 2: carries report version 2


def fix_result_to_data(result: FixResult, *, exit_code: int) -> dict[str, Any]:
    """The JSON of `dockdoctor fix --json`: the plan, what ran, and what the check after it found."""
    after = result.after
    return {
        "dockdoctor_fix_version": FIX_VERSION,
        "dockdoctor_version": result.before.dockdoctor_version,
        "plan": to_data(result.items),
        "applied": [{**to_data(a), "status": result.status(a.finding)} for a in result.applied],
        "new_findings": to_data(result.new_findings),
        "interrupted": result.interrupted,
        "interrupted_item": result.interrupted_item,
        "before": report_to_data(result.before, exit_code=int(result.before.exit_code())),
        "after": report_to_data(after, exit_code=int(after.exit_code())) if after is not None else None,
        "exit_code": exit_code,
    }
