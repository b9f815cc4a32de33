"""Docker image reference parsing and normalization with distribution/reference semantics."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

__all__ = ["DEFAULT_DOMAIN", "DOCKER_HUB_API_HOST", "PUBLIC_REGISTRIES", "ImageRef", "ReferenceError", "parse"]

DEFAULT_DOMAIN = "docker.io"
LEGACY_DEFAULT_DOMAIN = "index.docker.io"
DOCKER_HUB_API_HOST = "registry-1.docker.io"
OFFICIAL_REPO_PREFIX = "library/"
# Registries anyone can read: their host names are not redacted, and no engine is asked whether they are insecure.
PUBLIC_REGISTRIES = (
    DEFAULT_DOMAIN,
    LEGACY_DEFAULT_DOMAIN,
    DOCKER_HUB_API_HOST,
    "ghcr.io",
    "quay.io",
    "gcr.io",
    "mcr.microsoft.com",
    "public.ecr.aws",
    "registry.k8s.io",
    "registry.gitlab.com",
    "lscr.io",
)
NAME_TOTAL_LENGTH_MAX = 255
DIGEST_HEX_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}

# The pieces of distribution/reference regexp.go, matched one part at a time (never as one
# backtracking pattern). re.ASCII keeps \w to [A-Za-z0-9_] as in Go.
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_RE = re.compile(rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?", re.ASCII)
_PATH_COMPONENT_RE = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*", re.ASCII)
_TAG_RE = re.compile(r"\w[\w.-]{0,127}", re.ASCII)
_DIGEST_RE = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}", re.ASCII)
_IDENTIFIER_RE = re.compile(r"[a-f0-9]{64}", re.ASCII)
_LOWER_HEX_RE = re.compile(r"[a-f0-9]+", re.ASCII)

_PATH_RULE = "lowercase letters and digits separated by '.', '_', '__' or '-'"
_TAG_RULE = "up to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'"


def _show(text: str) -> str:
    """repr() of user input, shortened when it is too long to be useful in a message."""
    return repr(text) if len(text) <= 200 else f"{text[:80]!r}... ({len(text)} characters)"


class ReferenceError(ValueError):  # noqa: A001 - shadows the (weakref) builtin inside this module
    """An image reference could not be parsed."""

    def __init__(self, text: str, reason: str) -> None:
        super().__init__(f"invalid image reference {_show(text)}: {reason}")
        self.text = text
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ImageRef:
    """A normalized image reference: domain/path[:tag][@digest]."""

    domain: str
    path: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        return f"{self.domain}/{self.path}" if self.domain else self.path

    def __str__(self) -> str:
        return self.name + (f":{self.tag}" if self.tag else "") + (f"@{self.digest}" if self.digest else "")

    @property
    def canonical(self) -> str:
        """ParseDockerRef form: the digest wins over the tag (what is actually pulled)."""
        if self.digest:
            return f"{self.name}@{self.digest}"
        return f"{self.name}:{self.tag or 'latest'}"

    @property
    def familiar_name(self) -> str:
        """The name as Docker shows it: no docker.io/, no library/ for official images."""
        if self.domain != DEFAULT_DOMAIN:
            return self.name
        rest = self.path.removeprefix(OFFICIAL_REPO_PREFIX)
        return rest if rest != self.path and "/" not in rest else self.path

    def familiar(self) -> str:
        """Docker's FamiliarString: "nginx:latest", "localhost:5000/app:1"."""
        return self.familiar_name + (f":{self.tag}" if self.tag else "") + (f"@{self.digest}" if self.digest else "")

    @property
    def registry_host(self) -> str:
        """The host[:port] to send registry API requests to."""
        return DOCKER_HUB_API_HOST if self.domain == DEFAULT_DOMAIN else self.domain

    @property
    def is_loopback(self) -> bool:
        """localhost, 127.0.0.0/8 or ::1, with or without a port."""
        host = self.domain
        if host.startswith("["):
            host = host[1 : host.find("]")]
        elif ":" in host:
            host = host.rsplit(":", 1)[0]
        if host.lower() == "localhost":
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False


def _split_docker_domain(name: str) -> tuple[str, str]:
    """normalize.go splitDockerDomain."""
    first, sep, rest = name.partition("/")
    if not sep:
        return DEFAULT_DOMAIN, OFFICIAL_REPO_PREFIX + name
    if first == "localhost":
        domain, remote = first, rest
    elif first == LEGACY_DEFAULT_DOMAIN:
        domain, remote = DEFAULT_DOMAIN, rest
    elif "." in first or ":" in first or first.lower() != first:
        domain, remote = first, rest
    else:
        domain, remote = DEFAULT_DOMAIN, name
    if domain == DEFAULT_DOMAIN and "/" not in remote:
        remote = OFFICIAL_REPO_PREFIX + remote
    return domain, remote


def _check_digest_algorithm(text: str, digest: str) -> None:
    """go-digest Validate: a known algorithm and the exact lowercase-hex length for it."""
    algorithm, _, hex_part = digest.partition(":")
    if algorithm not in DIGEST_HEX_LENGTHS:
        supported = ", ".join(DIGEST_HEX_LENGTHS)
        raise ReferenceError(text, f"unsupported digest algorithm {_show(algorithm)} (supported: {supported})")
    want = DIGEST_HEX_LENGTHS[algorithm]
    if len(hex_part) != want or not _LOWER_HEX_RE.fullmatch(hex_part):
        raise ReferenceError(
            text,
            f"invalid checksum digest format: a {algorithm} digest is exactly "
            f"{want} lowercase hex digits, got {len(hex_part)}",
        )


_PARSED: dict[tuple[str, str], ImageRef] = {}  # parse()'s answers: a run parses each reference many times over
_PARSED_MAX = 4096


def parse(text: str, *, default_tag: str = "latest") -> ImageRef:
    """ParseNormalizedNamed + TagNameOnly: "nginx" -> docker.io/library/nginx:latest.

    default_tag is added only when there is neither a tag nor a digest; pass "" to add none.
    """
    key = (text, default_tag)
    found = _PARSED.get(key)
    if found is None:
        found = _parse(text, default_tag)
        if len(_PARSED) < _PARSED_MAX:
            _PARSED[key] = found
    return found


def _parse(text: str, default_tag: str) -> ImageRef:
    if default_tag and not _TAG_RE.fullmatch(default_tag):
        raise ValueError(f"invalid default tag {default_tag!r}: expected {_TAG_RULE}")
    if not text:
        raise ReferenceError(text, "repository name must have at least one component")
    if _IDENTIFIER_RE.fullmatch(text):
        raise ReferenceError(text, "cannot specify 64-byte hexadecimal strings (that is an image ID, not a name)")
    name, has_digest, digest = text.partition("@")
    domain, remainder = _split_docker_domain(name)
    head, slash, last = remainder.rpartition("/")
    last, has_tag, tag = last.partition(":")
    path = head + slash + last
    if path.lower() != path:
        raise ReferenceError(text, "repository name must be lowercase")
    if not _DOMAIN_RE.fullmatch(domain):
        raise ReferenceError(text, f"invalid reference format: {_show(domain)} is not a valid registry host[:port]")
    for component in path.split("/"):
        if not _PATH_COMPONENT_RE.fullmatch(component):
            what = f"path component {_show(component)}" if component else "an empty path component"
            raise ReferenceError(text, f"invalid reference format: {what}; repository names are {_PATH_RULE}")
    if has_tag and not _TAG_RE.fullmatch(tag):
        raise ReferenceError(text, f"invalid reference format: tag {_show(tag)} must be {_TAG_RULE}")
    if has_digest and not _DIGEST_RE.fullmatch(digest):
        raise ReferenceError(
            text,
            f"invalid reference format: digest {_show(digest)} must be <algorithm>:<hex>, e.g. sha256:<64 hex digits>",
        )
    if len(path) > NAME_TOTAL_LENGTH_MAX:
        raise ReferenceError(
            text, f"repository name must not be more than {NAME_TOTAL_LENGTH_MAX} characters (got {len(path)})"
        )
    if has_digest:
        _check_digest_algorithm(text, digest)
    if not has_tag and not has_digest:
        tag = default_tag
    return ImageRef(domain, path, tag or None, digest or None)
