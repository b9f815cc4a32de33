"""The engine probe: who answers at the endpoint, its version, native platform and flavour (with evidence)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlparse

from dockdoctor.model import EngineFacts, Evidence, Flavor, ProbeError
from dockdoctor.platforms import Platform, PlatformError, checked
from dockdoctor.probes import _sdk
from dockdoctor.probes.endpoint import Resolved

# (flavour, where the value is read, a regular expression on it). Answers from the engine come first: they
# say who really answered; the endpoint path and context name only say who was meant to.
_SERVER_RULES: tuple[tuple[Flavor, str, str], ...] = (
    (Flavor.DOCKER_DESKTOP, "info.OperatingSystem", r"^Docker Desktop$"),
    (Flavor.DOCKER_DESKTOP, "version.Platform.Name", r"^Docker Desktop\b"),
    (Flavor.DOCKER_DESKTOP, "info.Labels", r"^com\.docker\.desktop\.address="),
    (Flavor.ORBSTACK, "info.OperatingSystem", r"^OrbStack$"),
    (Flavor.ORBSTACK, "info.KernelVersion", r"-orbstack\b"),
    (Flavor.ORBSTACK, "info.Name", r"^orbstack$"),
    (Flavor.PODMAN, "version.Components", r"^Podman Engine$"),
    (Flavor.RANCHER_DESKTOP, "info.Name", r"^lima-rancher-desktop$"),
    (Flavor.COLIMA, "info.Name", r"^colima(-[\w.-]+)?$"),
    (Flavor.LIMA, "info.Name", r"^lima-"),
)
_ENDPOINT_RULES: tuple[tuple[Flavor, str, str], ...] = (
    (Flavor.DOCKER_DESKTOP, "endpoint", r"/\.docker/run/docker\.sock$|/com\.docker\.docker/|docker_cli|dockerDesktop"),
    (Flavor.ORBSTACK, "endpoint", r"/\.orbstack/"),
    (Flavor.COLIMA, "endpoint", r"/\.colima/"),
    (Flavor.RANCHER_DESKTOP, "endpoint", r"/\.rd/docker\.sock$"),
    (Flavor.PODMAN, "endpoint", r"podman"),
    (Flavor.LIMA, "endpoint", r"/\.lima/"),
    (Flavor.DOCKER_DESKTOP, "context", r"^desktop-linux$|^desktop-windows$"),
    (Flavor.ORBSTACK, "context", r"^orbstack$"),
    (Flavor.COLIMA, "context", r"^colima(-[\w.-]+)?$"),
    (Flavor.RANCHER_DESKTOP, "context", r"^rancher-desktop$"),
    (Flavor.PODMAN, "context", r"podman"),
)


def _values(
    field: str, *, endpoint: str, context: str | None, info: Mapping[str, Any], version: Mapping[str, Any]
) -> list[str]:
    match field:
        case "endpoint":
            return [endpoint]
        case "context":
            return [context] if context else []
        case "version.Platform.Name":
            return [str((version.get("Platform") or {}).get("Name", ""))]
        case "version.Components":
            return [str(c.get("Name", "")) for c in version.get("Components") or [] if isinstance(c, dict)]
        case "info.Labels":
            return [str(v) for v in info.get("Labels") or []]
    return [str(info.get(field.removeprefix("info."), ""))]


def classify(
    *, endpoint: str, context: str | None, info: Mapping[str, Any] | None, version: Mapping[str, Any] | None
) -> tuple[Flavor, tuple[Evidence, ...]]:
    """The flavour behind an endpoint and every piece of evidence seen; pure, so recorded answers test it."""
    evidence: list[Evidence] = []
    rules = (_SERVER_RULES if (info or version) else ()) + _ENDPOINT_RULES
    for flavor, field, pattern in rules:
        values = _values(field, endpoint=endpoint, context=context, info=info or {}, version=version or {})
        evidence.extend(
            Evidence(field=field, value=value, suggests=flavor.value)
            for value in values
            if value and re.search(pattern, value)
        )
    if evidence:
        return Flavor(evidence[0].suggests), tuple(evidence)
    if info or version:
        name = str((info or {}).get("OperatingSystem") or (version or {}).get("Platform", {}).get("Name", ""))
        return Flavor.DOCKERD, (Evidence(field="info.OperatingSystem", value=name, suggests=Flavor.DOCKERD.value),)
    return Flavor.UNKNOWN, ()


def is_remote(endpoint: str) -> bool:
    """Whether the endpoint is on another machine (tcp/ssh to a non-loopback host)."""
    parsed = urlparse(endpoint)
    if parsed.scheme not in ("tcp", "ssh", "http", "https"):
        return False
    return (parsed.hostname or "") not in ("localhost", "127.0.0.1", "::1") and not (parsed.hostname or "").startswith(
        "127."
    )


def native_platform(info: Mapping[str, Any], version: Mapping[str, Any]) -> str | None:
    """The engine's own platform from /version Os/Arch, else /info OSType/Architecture."""
    os_name = version.get("Os") or info.get("OSType")
    arch = version.get("Arch") or info.get("Architecture")
    if not os_name or not arch:
        return None
    try:
        return checked(Platform(os=str(os_name), architecture=str(arch)))
    except PlatformError:
        return None


def _registry(info: Mapping[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    config = info.get("RegistryConfig") or {}
    insecure = list(config.get("InsecureRegistryCIDRs") or [])
    insecure += [
        name
        for name, idx in (config.get("IndexConfigs") or {}).items()
        if isinstance(idx, dict) and idx.get("Secure") is False
    ]
    return tuple(insecure), tuple(config.get("Mirrors") or [])


def facts_from_answers(
    resolved: Resolved,
    answers: tuple[Mapping[str, Any], Mapping[str, Any]] | ProbeError | None,
) -> EngineFacts:
    """EngineFacts from the endpoint resolution and the engine's answers (or why there were none)."""
    error = answers if isinstance(answers, ProbeError) else resolved.error
    version, info = answers if isinstance(answers, tuple) else ({}, {})
    flavor, evidence = classify(
        endpoint=resolved.endpoint, context=resolved.context, info=info or None, version=version or None
    )
    insecure, mirrors = _registry(info)
    driver_status = {str(k): str(v) for k, v in info.get("DriverStatus") or [] if isinstance(k, str)}
    return EngineFacts(
        endpoint=resolved.endpoint,
        endpoint_rule=resolved.rule,
        context=resolved.context,
        selected_context=resolved.selected_context,
        contexts=resolved.contexts,
        reachable=isinstance(answers, tuple),
        error=error,
        flavor=flavor,
        evidence=evidence,
        remote=is_remote(resolved.endpoint),
        platform=native_platform(info, version) if info or version else None,
        server_version=str(version.get("Version") or info.get("ServerVersion") or "") or None,
        api_version=str(version.get("ApiVersion") or "") or None,
        os_type=str(info.get("OSType") or version.get("Os") or "") or None,
        operating_system=str(info.get("OperatingSystem") or "") or None,
        kernel_version=str(info.get("KernelVersion") or version.get("KernelVersion") or "") or None,
        architecture=str(info.get("Architecture") or "") or None,
        name=str(info.get("Name") or "") or None,
        components=tuple(
            (str(c.get("Name", "")), str(c.get("Version", "")))
            for c in version.get("Components") or []
            if isinstance(c, dict)
        ),
        labels=tuple(str(label) for label in info.get("Labels") or []),
        insecure_registries=insecure,
        registry_mirrors=mirrors,
        http_proxy=str(info.get("HttpProxy") or ""),
        https_proxy=str(info.get("HttpsProxy") or ""),
        no_proxy=str(info.get("NoProxy") or ""),
        containerd_snapshotter=driver_status.get("driver-type") == "io.containerd.snapshotter.v1",
        config_error=resolved.config_error,
        engine_id=str(info.get("ID") or "") or None,
        product_version=product_version(flavor, version),
    )


def product_version(flavor: Flavor, version: Mapping[str, Any]) -> str | None:
    """The product's own release where /version says it: Docker Desktop's `Platform.Name`
    (`Docker Desktop 4.33.0 (160616)` -> 4.33.0), Podman's `Podman Engine` component."""
    if flavor is Flavor.DOCKER_DESKTOP:
        match = re.match(r"Docker Desktop (\d+\.\d+\.\d+)", str((version.get("Platform") or {}).get("Name", "")))
        return match.group(1) if match else None
    if flavor is Flavor.PODMAN:
        for component in version.get("Components") or []:
            if isinstance(component, dict) and component.get("Name") == "Podman Engine":
                return str(component.get("Version") or "") or None
    return None


def probe_engine(resolved: Resolved, *, timeout: float) -> EngineFacts:
    """Ask the resolved endpoint; an unresolvable or silent endpoint gives reachable=False with the reason."""
    if resolved.error is not None or not resolved.endpoint:
        return facts_from_answers(resolved, None)
    return facts_from_answers(resolved, _sdk.engine_answers(resolved.endpoint, tls=resolved.tls, timeout=timeout))
