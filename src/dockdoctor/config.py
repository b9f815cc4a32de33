"""Project settings (`[tool.dockdoctor]` in pyproject.toml, or .dockdoctor.toml), parsed into a frozen Settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dockdoctor.errors import ConfigError
from dockdoctor.model import Severity
from dockdoctor.platforms import PlatformError, format_platform, parse

KEYS = ("targets", "ignore", "severity", "strict")


@dataclass(frozen=True, slots=True)
class Settings:
    """What a project file says: deploy targets, ignored checks, severity overrides; and which file said it."""

    source: str = ""
    targets: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    severity: tuple[tuple[str, Severity], ...] = ()  # (code or slug, severity)
    strict: bool = False
    files: tuple[str, ...] = ()  # every settings file read, the user's first (reported in the JSON)
    keys: tuple[tuple[str, str], ...] = ()  # (key, file) for each key a file set: which file to name in errors

    def source_of(self, key: str) -> str:
        """The file that set `key` (its errors name it), else the settings' source."""
        return next((f for k, f in self.keys if k == key), self.source)


def merge_settings(user: Settings, project: Settings) -> Settings:
    """The user's settings file under the project's: each key the project sets wins; `severity` tables merge
    check by check (the project's entry wins). Either may be empty (Settings())."""
    if not user.files:
        return project
    if not project.files:
        return user
    set_by_project = {k for k, _ in project.keys}
    named = {name for name, _ in project.severity}
    severity = tuple((n, s) for n, s in user.severity if n not in named) + project.severity
    keys = tuple((k, f) for k, f in user.keys if k not in set_by_project) + project.keys
    return Settings(
        source=user.source if "targets" not in set_by_project and user.targets else project.source,
        targets=project.targets if "targets" in set_by_project else user.targets,
        ignore=project.ignore if "ignore" in set_by_project else user.ignore,
        severity=severity,
        strict=project.strict if "strict" in set_by_project else user.strict,
        files=user.files + project.files,
        keys=keys,
    )


def _strings(value: Any, key: str, source: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{source}: `{key}` must be a list of strings")
    return tuple(value)


def parse_settings(data: Mapping[str, Any], *, source: str) -> Settings:
    """Settings from the `[tool.dockdoctor]` table (or a whole .dockdoctor.toml); raises ConfigError naming the key."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: the dockdoctor settings must be a table of targets, ignore, severity, strict")
    unknown = sorted(set(data) - set(KEYS))
    if unknown:
        raise ConfigError(f"{source}: unknown setting {unknown[0]!r} (known: {', '.join(KEYS)})")
    targets = _strings(data.get("targets", []), "targets", source)
    for target in targets:
        try:
            format_platform(parse(target))
        except PlatformError as err:
            raise ConfigError(f"{source}: targets: {err}") from None
    severity = data.get("severity", {})
    if not isinstance(severity, Mapping):
        raise ConfigError(f'{source}: `severity` must be a table of check = "error" | "warning" | "info"')
    overrides = []
    for name, value in severity.items():
        try:
            overrides.append((str(name), Severity(value)))
        except ValueError:
            raise ConfigError(f'{source}: severity.{name} = {value!r}: use "error", "warning" or "info"') from None
    strict = data.get("strict", False)
    if not isinstance(strict, bool):
        raise ConfigError(f"{source}: `strict` must be true or false")
    return Settings(
        source=source,
        targets=targets,
        ignore=_strings(data.get("ignore", []), "ignore", source),
        severity=tuple(overrides),
        strict=strict,
        files=(source,),
        keys=tuple((key, source) for key in KEYS if key in data),
    )
