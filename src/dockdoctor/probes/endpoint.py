"""Where the engine is: DOCKER_HOST, then DOCKER_CONTEXT, then the config's currentContext, then the default socket."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass

from dockdoctor.model import ContextFacts, EndpointRule, ProbeError, ProbeErrorKind
from dockdoctor.probes._run import read_text

DEFAULT_HOST = "unix:///var/run/docker.sock"


@dataclass(frozen=True, slots=True)
class TLSFiles:
    """Client TLS material for a tcp:// endpoint (paths only)."""

    verify: bool
    ca: str | None
    cert: str | None
    key: str | None


@dataclass(frozen=True, slots=True)
class Resolved:
    """The endpoint the docker CLI would use, why, and what the CLI configuration holds."""

    endpoint: str
    rule: EndpointRule
    context: str | None
    contexts: tuple[ContextFacts, ...]
    tls: TLSFiles | None = None
    error: ProbeError | None = None  # e.g. the named context does not exist
    config_error: ProbeError | None = None  # config.json unreadable
    selected_context: str | None = None  # what DOCKER_CONTEXT or currentContext names, even if DOCKER_HOST wins


def config_dir(env: Mapping[str, str]) -> str:
    """The docker CLI configuration directory (DOCKER_CONFIG or ~/.docker)."""
    return env.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")


def socket_exists(host: str) -> bool | None:
    """Whether a unix:// endpoint's socket file is there; None for other schemes."""
    if not host.startswith("unix://"):
        return None
    return os.path.exists(host[len("unix://") :])


def _load_config(cfg_dir: str) -> tuple[dict[str, object], ProbeError | None]:
    path = os.path.join(cfg_dir, "config.json")
    text = read_text("endpoint", path)
    if text is None:
        return {}, None
    if isinstance(text, ProbeError):
        return {}, ProbeError(probe="endpoint", kind=ProbeErrorKind.CONFIG, detail=text.detail)
    try:
        data = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as err:
        return {}, ProbeError(
            probe="endpoint",
            kind=ProbeErrorKind.CONFIG,
            detail=f"{path}: invalid JSON ({err.msg} at line {err.lineno})",
        )
    if not isinstance(data, dict):
        return {}, ProbeError(probe="endpoint", kind=ProbeErrorKind.CONFIG, detail=f"{path}: expected a JSON object")
    return data, None


def _contexts(cfg_dir: str) -> dict[str, tuple[str, str, bool]]:
    """name -> (host, description, skip_tls_verify) for every stored context."""
    found: dict[str, tuple[str, str, bool]] = {}
    meta_root = os.path.join(cfg_dir, "contexts", "meta")
    try:
        entries = sorted(os.listdir(meta_root))
    except OSError:
        return found
    for entry in entries:
        text = read_text("endpoint", os.path.join(meta_root, entry, "meta.json"))
        if not isinstance(text, str):
            continue
        try:
            meta = json.loads(text)
            name = meta["Name"]
            docker = meta.get("Endpoints", {}).get("docker", {})
            host = docker.get("Host", "")
            desc = (meta.get("Metadata") or {}).get("Description", "")
            found[name] = (host, desc, bool(docker.get("SkipTLSVerify")))
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError):
            continue
    return found


def _context_tls(cfg_dir: str, name: str, skip_verify: bool) -> TLSFiles | None:
    import hashlib  # only a named context needs it (the digest names its TLS folder)

    digest = hashlib.sha256(name.encode()).hexdigest()
    base = os.path.join(cfg_dir, "contexts", "tls", digest, "docker")
    files = {n: os.path.join(base, f"{n}.pem") for n in ("ca", "cert", "key")}
    present = {n: p for n, p in files.items() if os.path.exists(p)}
    if not present:
        return None
    return TLSFiles(verify=not skip_verify, ca=present.get("ca"), cert=present.get("cert"), key=present.get("key"))


def _env_tls(env: Mapping[str, str], cfg_dir: str) -> TLSFiles | None:
    verify = env.get("DOCKER_TLS_VERIFY", "") not in ("", "0")
    cert_path = env.get("DOCKER_CERT_PATH") or (cfg_dir if verify else "")
    if not verify and not env.get("DOCKER_CERT_PATH"):
        return None
    pem = {n: os.path.join(cert_path, f"{n}.pem") for n in ("ca", "cert", "key")}
    return TLSFiles(
        verify=verify,
        ca=pem["ca"] if os.path.exists(pem["ca"]) else None,
        cert=pem["cert"] if os.path.exists(pem["cert"]) else None,
        key=pem["key"] if os.path.exists(pem["key"]) else None,
    )


def resolve(env: Mapping[str, str], *, default_host: str = DEFAULT_HOST) -> Resolved:
    """Resolve the endpoint exactly in the docker CLI's order and record the rule that decided."""
    cfg_dir = config_dir(env)
    config, config_error = _load_config(cfg_dir)
    stored = _contexts(cfg_dir)
    current = config.get("currentContext")
    current = current if isinstance(current, str) else None

    selected = env.get("DOCKER_CONTEXT") or current or None
    if env.get("DOCKER_HOST"):
        name, rule = "default", EndpointRule.DOCKER_HOST
    elif env.get("DOCKER_CONTEXT"):
        name, rule = env["DOCKER_CONTEXT"], EndpointRule.DOCKER_CONTEXT
    elif current:
        name, rule = str(current), EndpointRule.CURRENT_CONTEXT
    else:
        name, rule = "default", EndpointRule.DEFAULT

    contexts = [
        ContextFacts(
            name="default",
            host=env.get("DOCKER_HOST") or default_host,
            description="Current DOCKER_HOST based configuration",
            socket_exists=socket_exists(env.get("DOCKER_HOST") or default_host),
            current=name == "default",
        )
    ]
    for ctx_name, (host, desc, _skip) in sorted(stored.items()):
        contexts.append(
            ContextFacts(
                name=ctx_name, host=host, description=desc, socket_exists=socket_exists(host), current=ctx_name == name
            )
        )

    if rule is EndpointRule.DOCKER_HOST:
        return Resolved(
            env["DOCKER_HOST"],
            rule,
            name,
            tuple(contexts),
            _env_tls(env, cfg_dir),
            config_error=config_error,
            selected_context=selected,
        )
    if name == "default":
        return Resolved(
            default_host,
            rule,
            name,
            tuple(contexts),
            _env_tls(env, cfg_dir),
            config_error=config_error,
            selected_context=selected,
        )
    if name not in stored:
        where = "DOCKER_CONTEXT" if rule is EndpointRule.DOCKER_CONTEXT else f"currentContext in {cfg_dir}/config.json"
        error = ProbeError(
            probe="endpoint",
            kind=ProbeErrorKind.CONFIG,
            detail=f"context {name!r} (from {where}) does not exist; `docker context ls` lists the known ones",
        )
        return Resolved(
            "", rule, name, tuple(contexts), None, error=error, config_error=config_error, selected_context=selected
        )
    host, _desc, skip = stored[name]
    return Resolved(
        host,
        rule,
        name,
        tuple(contexts),
        _context_tls(cfg_dir, name, skip),
        config_error=config_error,
        selected_context=selected,
    )
