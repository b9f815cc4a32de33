"""Redaction: a pure Facts -> Facts step that hides identities and secrets before anything leaves the machine.

The home directory becomes `~`, the user `<user>`, the host name `<host>`; credentials in URLs become
`<redacted>`; environment values outside an allow-list become `<redacted>`; with `registries=True`, private
registry host names become `<registry-1>`, `<registry-2>`... The same value always maps to the same placeholder.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any

from dockdoctor.model import Facts

REDACTED = "<redacted>"
ENV_ALLOWED = frozenset({
    "DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_CONFIG", "DOCKER_DEFAULT_PLATFORM", "DOCKER_BUILDKIT",
    "DOCKER_API_VERSION", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_CLI_HINTS", "COMPOSE_FILE",
    "COMPOSE_PROFILES", "COMPOSE_PROJECT_NAME", "COMPOSE_DOCKER_CLI_BUILD", "COMPOSE_BAKE", "COMPOSE_PARALLEL_LIMIT",
})
PUBLIC_REGISTRIES = ("docker.io", "index.docker.io", "registry-1.docker.io", "ghcr.io", "quay.io", "gcr.io",
                     "mcr.microsoft.com", "public.ecr.aws", "registry.k8s.io", "registry.gitlab.com", "lscr.io")
_URL_CREDENTIALS = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/\s:@]+(?::[^/\s@]*)?@")
_JSON_SECRET = re.compile(r'(?i)("(?:auth|identitytoken|registrytoken|password|secret|token|[a-z_]*(?:password|secret|token))"'
                          r'\s*:\s*)"(?:[^"\\]|\\.)*"')
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}")
# engine names that identify a product, not a person's machine
_PRODUCT_NAMES = re.compile(r"^(docker-desktop|orbstack|colima(-[\w.-]+)?|lima-[\w.-]+|rancher-desktop)$")


def _walk(value: Any, fn: Callable[[str], str]) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.replace(value, **{f.name: _walk(getattr(value, f.name), fn)
                                             for f in dataclasses.fields(value)})
    if isinstance(value, tuple):
        return tuple(_walk(v, fn) for v in value)
    if type(value) is str:
        return fn(value)
    return value


def _private_registry_hosts(facts: Facts) -> list[str]:
    candidates = list(facts.engine.insecure_registries) + list(facts.engine.registry_mirrors)
    refs = [r.canonical for r in facts.images.remote] + [t for i in facts.images.local for t in i.repo_tags]
    refs += [c.image for c in facts.images.containers]
    candidates += [ref.split("/", 1)[0] for ref in refs if "/" in ref]
    hosts = []
    for item in candidates:
        host = re.sub(r"^[a-z]+://", "", item).split("/", 1)[0]
        is_public = host in PUBLIC_REGISTRIES or host.endswith((".docker.io", ".pkg.dev", ".amazonaws.com.cn"))
        if host and ("." in host or ":" in host) and not is_public and not re.match(r"^[\d.:/]+$", host) \
                and host not in hosts and not host.startswith("localhost"):
            hosts.append(host)
    return hosts


def redact(facts: Facts, *, registries: bool = False) -> Facts:
    """Facts with identities, credentials and unlisted environment values replaced by placeholders."""
    if facts.redacted:
        return facts
    host = facts.host
    replacements: list[tuple[str, str]] = []  # (exact text, placeholder), replaced as whole names
    if host.home and host.home not in ("/", ""):
        replacements.append((host.home, "~"))
    if host.hostname and host.hostname != "localhost":
        replacements.append((host.hostname, "<host>"))
    name = facts.engine.name or ""
    if name and name != host.hostname and name != "localhost" and not _PRODUCT_NAMES.match(name):
        replacements.append((name, "<engine-host>"))
    if registries:
        replacements += [(h, f"<registry-{i}>") for i, h in enumerate(_private_registry_hosts(facts), 1)]
    names = [(re.compile(rf"(?<![\w-]){re.escape(raw)}(?![\w-])"), placeholder)
             for raw, placeholder in sorted(replacements, key=lambda r: -len(r[0]))]
    user = host.user
    # the user name in home paths, and as a word of its own (not inside a path such as /dev/null)
    user_pattern = re.compile(rf"(?P<pre>/Users/|/home/|\\Users\\){re.escape(user)}(?=[/\\]|$)|"
                              rf"(?<![\w./\\-]){re.escape(user)}(?![\w-])") if user else None

    def clean(text: str) -> str:
        text = _URL_CREDENTIALS.sub(lambda m: f"{m.group('scheme')}{REDACTED}@", text)
        text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
        text = _JSON_SECRET.sub(lambda m: f'{m.group(1)}"{REDACTED}"', text)
        for pattern, placeholder in names:
            text = pattern.sub(placeholder, text)
        if user_pattern is not None:
            text = user_pattern.sub(lambda m: (m.group("pre") or "") + "<user>", text)
        return text

    environment = tuple((k, v if k in ENV_ALLOWED else REDACTED) for k, v in facts.environment)
    project = facts.project
    if project is not None:  # .env values follow the same allow-list as the environment
        project = dataclasses.replace(project, dotenv=tuple((k, v if k in ENV_ALLOWED else REDACTED, src)
                                                            for k, v, src in project.dotenv))
    cleaned = _walk(dataclasses.replace(facts, environment=environment, project=project), clean)
    identity = dataclasses.replace(cleaned.host, hostname="<host>" if host.hostname else "",
                                   user="<user>" if user else "", home="~" if host.home else "")
    return dataclasses.replace(cleaned, host=identity, redacted=True)
