"""JSON Schemas of the facts file and the report, generated from the dataclasses themselves."""

from __future__ import annotations

import dataclasses
import types
import typing
from enum import Enum
from typing import Any, Union

from dockdoctor.model import (
    REPORT_VERSION,
    SCHEMA_VERSION,
    Applied,
    EditFile,
    Facts,
    Finding,
    FixItem,
    FleetEngine,
    ImageKind,
    ImageVerdict,
    Manual,
    OutcomeStatus,
    ProbeErrorKind,
    RunCommand,
    Skipped,
    Suppressed,
    Target,
    Verdict,
)
from dockdoctor.model.location import WIRED

# Typed in the model, strings in the schema: vocabularies that grow with the probes and checks (a new probe
# error kind, a new verdict) without a schema version, as they did when they were plain strings.
OPEN_VOCABULARIES: frozenset[type[Enum]] = frozenset({ProbeErrorKind, ImageKind, Verdict, OutcomeStatus})

DIALECT = "https://json-schema.org/draft/2020-12/schema"
BASE_ID = "https://dockdoctor.invalid/schemas"


class _Builder:
    def __init__(self) -> None:
        self.defs: dict[str, Any] = {}

    def type_schema(self, tp: Any) -> dict[str, Any]:
        origin = typing.get_origin(tp)
        if origin in (Union, types.UnionType):
            options = [self.type_schema(a) for a in typing.get_args(tp)]
            return {"anyOf": options}
        if origin is tuple:
            args = typing.get_args(tp)
            if len(args) == 2 and args[1] is Ellipsis:
                return {"type": "array", "items": self.type_schema(args[0])}
            return {
                "type": "array",
                "prefixItems": [self.type_schema(a) for a in args],
                "minItems": len(args),
                "maxItems": len(args),
            }
        if tp is type(None):
            return {"type": "null"}
        if isinstance(tp, type) and issubclass(tp, Enum):
            return {"type": "string"} if tp in OPEN_VOCABULARIES else {"enum": [m.value for m in tp]}
        if tp in WIRED:  # a record written in another form (model.location): its schema is that form's
            wire = tp.WIRE
            if not (isinstance(wire, type) and dataclasses.is_dataclass(wire)):
                return self.type_schema(wire)
            self.define(wire, name=tp.__name__)
            return {"$ref": f"#/$defs/{tp.__name__}"}
        if isinstance(tp, type) and dataclasses.is_dataclass(tp):
            self.define(tp)
            return {"$ref": f"#/$defs/{tp.__name__}"}
        simple = {str: "string", int: "integer", bool: "boolean", float: "number"}
        if tp in simple:
            return {"type": simple[tp]}
        raise TypeError(f"no JSON Schema for {tp!r}")

    def define(self, cls: type, *, name: str = "") -> None:
        name = name or cls.__name__
        if name in self.defs:
            return
        self.defs[name] = {}  # placeholder against recursion
        hints = typing.get_type_hints(cls)
        properties: dict[str, Any] = {}
        required = []
        for f in dataclasses.fields(cls):
            if f.name == "kind" and cls in (RunCommand, EditFile, Manual):  # a Step's discriminator
                properties[f.name] = {"const": f.default}
                required.append(f.name)
                continue
            properties[f.name] = self.type_schema(hints[f.name])
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                required.append(f.name)
        doc = (cls.__doc__ or "").strip().splitlines()[0]
        self.defs[name] = {
            "description": doc,
            "type": "object",
            "properties": properties,
            "required": required,
            "patternProperties": {"^_": {}},
            "additionalProperties": False,
        }


def facts_schema() -> dict[str, Any]:
    """The schema of a facts file (`check --save-facts`, `check --from`)."""
    builder = _Builder()
    builder.define(Facts)
    root = builder.defs.pop("Facts")
    return {
        "$schema": DIALECT,
        "$id": f"{BASE_ID}/facts-v{SCHEMA_VERSION}.json",
        "title": f"dockdoctor facts, schema version {SCHEMA_VERSION}",
        **root,
        "$defs": builder.defs,
    }


def report_schema() -> dict[str, Any]:
    """The schema of the JSON report (`check --json`)."""
    builder = _Builder()
    facts = builder.type_schema(Facts)
    findings = {"type": "array", "items": builder.type_schema(Finding)}
    targets = {"type": "array", "items": builder.type_schema(Target)}
    images = {"type": "array", "items": builder.type_schema(ImageVerdict)}
    skipped = {"type": "array", "items": builder.type_schema(Skipped)}
    suppressed = {"type": "array", "items": builder.type_schema(Suppressed)}
    count = {"type": "integer", "minimum": 0}
    summary = {
        "type": "object",
        "additionalProperties": False,
        "required": ["errors", "warnings", "infos", "checks_run", "fixable", "exit_code"],
        "properties": {
            **dict.fromkeys(("errors", "warnings", "infos", "checks_run", "fixable"), count),
            "exit_code": {"enum": [0, 1]},
        },
    }
    nullable = {"anyOf": [{"type": "string"}, {"type": "null"}]}
    return {
        "$schema": DIALECT,
        "$id": f"{BASE_ID}/report-v{REPORT_VERSION}.json",
        "title": f"dockdoctor report, version {REPORT_VERSION}",
        "type": "object",
        "additionalProperties": False,
        "required": [
            "dockdoctor_report_version",
            "schema_version",
            "dockdoctor_version",
            "gathered_by",
            "replayed_from",
            "targets",
            "facts",
            "findings",
            "checks_run",
            "summary",
        ],
        "properties": {
            "dockdoctor_report_version": {"const": REPORT_VERSION},
            "schema_version": {"const": SCHEMA_VERSION},
            "dockdoctor_version": {"type": "string"},
            "gathered_by": {"type": "string"},
            "replayed_from": nullable,
            "targets": targets,
            "facts": facts,
            "findings": findings,
            "images": images,
            "checks_run": {"type": "array", "items": {"type": "string", "pattern": "^DKD[0-9]{3}$"}},
            "checks_skipped": skipped,
            "suppressed": suppressed,
            "settings_files": {"type": "array", "items": {"type": "string"}},
            "summary": summary,
        },
        "$defs": builder.defs,
    }


def fix_schema() -> dict[str, Any]:
    """The schema of `dockdoctor fix --json`."""
    from dockdoctor.codec import FIX_VERSION

    report = report_schema()
    builder = _Builder()
    builder.defs.update(report.pop("$defs"))
    report = {k: v for k, v in report.items() if not k.startswith("$") and k != "title"}
    builder.defs["Report"] = report
    applied = builder.type_schema(Applied)
    builder.defs["Applied"]["properties"]["status"] = {"enum": ["fixed", "still present", "not checked again"]}
    builder.defs["Applied"]["required"].append("status")
    return {
        "$schema": DIALECT,
        "$id": f"{BASE_ID}/fix-v{FIX_VERSION}.json",
        "title": f"dockdoctor fix result, version {FIX_VERSION}",
        "type": "object",
        "additionalProperties": False,
        "required": [
            "dockdoctor_fix_version",
            "dockdoctor_version",
            "plan",
            "applied",
            "new_findings",
            "interrupted",
            "interrupted_item",
            "before",
            "after",
            "exit_code",
        ],
        "properties": {
            "dockdoctor_fix_version": {"const": FIX_VERSION},
            "dockdoctor_version": {"type": "string"},
            "plan": {"type": "array", "items": builder.type_schema(FixItem)},
            "applied": {"type": "array", "items": applied},
            "new_findings": {"type": "array", "items": builder.type_schema(Finding)},
            "interrupted": {"type": "boolean"},
            "interrupted_item": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
            "before": {"$ref": "#/$defs/Report"},
            "after": {"anyOf": [{"$ref": "#/$defs/Report"}, {"type": "null"}]},
            "exit_code": {"enum": [0, 1, 2, 130]},
        },
        "$defs": builder.defs,
    }


def fleet_schema() -> dict[str, Any]:
    """The schema of the fleet document (`check --all-contexts --json`, `check --context NAME --json`)."""
    from dockdoctor.model.fleet import FLEET_VERSION, FleetRow, Unanswered

    report = report_schema()
    builder = _Builder()
    builder.defs.update(report.pop("$defs"))
    builder.defs["Report"] = {k: v for k, v in report.items() if not k.startswith("$") and k != "title"}
    return {
        "$schema": DIALECT,
        "$id": f"{BASE_ID}/fleet-v{FLEET_VERSION}.json",
        "title": f"dockdoctor fleet document, version {FLEET_VERSION}",
        "type": "object",
        "additionalProperties": False,
        "required": [
            "dockdoctor_fleet_version",
            "dockdoctor_version",
            "current_context",
            "summary",
            "findings",
            "unanswered",
            "fleet",
            "reports",
            "exit_code",
        ],
        "properties": {
            "dockdoctor_fleet_version": {"const": FLEET_VERSION},
            "dockdoctor_version": {"type": "string"},
            "current_context": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            "summary": {"type": "array", "items": builder.type_schema(FleetRow)},
            "findings": {"type": "array", "items": builder.type_schema(Finding)},
            "unanswered": {"type": "array", "items": builder.type_schema(Unanswered)},
            "fleet": {"type": "array", "items": builder.type_schema(FleetEngine)},
            "reports": {"type": "array", "items": {"$ref": "#/$defs/Report"}},
            "exit_code": {"enum": [0, 1]},
        },
        "$defs": builder.defs,
    }


SCHEMAS = {"facts": facts_schema, "report": report_schema, "fix": fix_schema, "fleet": fleet_schema}
