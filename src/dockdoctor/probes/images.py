"""The local images probe: images in the engine's store and containers, with platforms and exec format errors."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from dockdoctor.model import ContainerFacts, ImageFacts, LocalImage, ProbeError
from dockdoctor.platforms import Platform, PlatformError, format_platform, normalize
from dockdoctor.probes._sdk import with_client
from dockdoctor.probes.endpoint import TLSFiles

LOG_LINES = 20
EXEC_FORMAT = "exec format error"
MAX_CONTAINERS = 200


def image_platform(inspect: dict[str, Any]) -> str:
    """os/arch[/variant] of an image inspect answer, normalized ("unknown" when it says nothing)."""
    try:
        return format_platform(normalize(Platform(os=str(inspect.get("Os") or "linux"),
                                                  architecture=str(inspect.get("Architecture") or "unknown"),
                                                  variant=str(inspect.get("Variant") or ""))))
    except PlatformError:
        return "unknown"


def _local(inspect: dict[str, Any]) -> LocalImage:
    return LocalImage(id=str(inspect.get("Id", "")), platform=image_platform(inspect),
                      repo_tags=tuple(inspect.get("RepoTags") or ()), repo_digests=tuple(inspect.get("RepoDigests") or ()))


def _canonical(ref: str) -> str | None:
    from dockdoctor.reference import ReferenceError, parse

    try:
        return parse(ref).canonical
    except ReferenceError:
        return None


def _gather(client: Any, refs: Sequence[str], with_containers: bool) -> ImageFacts:
    import docker

    images: dict[str, LocalImage] = {}
    errors: list[ProbeError] = []

    def inspect(ref: str) -> LocalImage | None:
        try:
            found = _local(client.inspect_image(ref))
        except docker.errors.APIError:  # not found, or a reference the engine rejects (the registry check says why)
            return None
        images.setdefault(found.id, found)
        return found

    # one listing finds which references have local copies; only those are inspected (for their platform)
    wanted = {_canonical(r) for r in refs} - {None}
    if wanted:
        for summary in client.images():
            if any(_canonical(tag) in wanted for tag in summary.get("RepoTags") or ()):
                inspect(str(summary["Id"]))
    containers: list[ContainerFacts] = []
    if with_containers:
        for summary in client.containers(all=True)[:MAX_CONTAINERS]:
            image = inspect(summary.get("ImageID") or summary.get("Image", ""))
            state = str(summary.get("State", ""))
            exit_code, exec_error = None, False
            if state == "exited":
                details = client.inspect_container(summary["Id"])
                exit_code = int(details.get("State", {}).get("ExitCode", 0))
                if exit_code != 0:
                    logs = client.logs(summary["Id"], stdout=True, stderr=True, tail=LOG_LINES)
                    exec_error = EXEC_FORMAT in logs.decode("utf-8", "replace").lower()
                    exec_error = exec_error or EXEC_FORMAT in str(details.get("State", {}).get("Error", "")).lower()
            names = summary.get("Names") or [""]
            containers.append(ContainerFacts(id=str(summary["Id"])[:12], name=str(names[0]).lstrip("/"),
                                             image=str(summary.get("Image", "")), image_id=image.id if image else "",
                                             platform=image.platform if image else "unknown", state=state,
                                             exit_code=exit_code, exec_format_error=exec_error))
    return ImageFacts(local=tuple(images.values()), containers=tuple(containers), errors=tuple(errors))


def probe_local_images(endpoint: str, *, tls: TLSFiles | None, timeout: float, api_version: str,
                       refs: Iterable[str] = (), with_containers: bool = True) -> ImageFacts:
    """Local copies of `refs` and every container (with its image) on the engine."""
    result = with_client(endpoint, tls=tls, timeout=timeout, api_version=api_version,
                         call=lambda client: _gather(client, tuple(refs), with_containers))
    if isinstance(result, ProbeError):
        return ImageFacts(errors=(ProbeError(probe="images", kind=result.kind, detail=result.detail),))
    return result
