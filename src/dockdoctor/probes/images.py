"""The local images probe: images in the engine's store and containers, with platforms and exec format errors."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from dockdoctor.model import ContainerFacts, ImageFacts, ImagePlatform, LocalImage, ProbeError
from dockdoctor.platforms import Platform, PlatformError, format_platform, normalize
from dockdoctor.probes._sdk import with_client
from dockdoctor.probes.endpoint import TLSFiles

LOG_LINES = 20
EXEC_FORMAT = "exec format error"
MAX_CONTAINERS = 200


def _oci_platform(platform: object) -> str | None:
    """os/arch[/variant] of an OCI platform object ({"os", "architecture", "variant"}), normalized."""
    if not isinstance(platform, dict) or not platform.get("os") or not platform.get("architecture"):
        return None
    try:
        return format_platform(normalize(Platform(os=str(platform["os"]), architecture=str(platform["architecture"]),
                                                  variant=str(platform.get("variant") or ""))))
    except PlatformError:
        return None


def image_platform(inspect: dict[str, Any]) -> str:
    """os/arch[/variant] of an image inspect answer, normalized ("unknown" when it says nothing)."""
    return _oci_platform({"os": inspect.get("Os") or "linux", "architecture": inspect.get("Architecture"),
                          "variant": inspect.get("Variant")}) or "unknown"


def store_manifests(summary: dict[str, Any]) -> tuple[tuple[ImagePlatform, ...], tuple[ImagePlatform, ...]]:
    """(held, absent) image manifests of an /images/json?manifests=1 entry (containerd image store, API 1.47+).

    Attestation and unknown entries are not platforms and are left out.
    """
    held: list[ImagePlatform] = []
    absent: list[ImagePlatform] = []
    for entry in summary.get("Manifests") or ():
        if not isinstance(entry, dict) or entry.get("Kind") != "image":
            continue
        data = entry.get("ImageData") or {}
        name = _oci_platform(data.get("Platform"))
        if name is None:
            continue
        descriptor = entry.get("Descriptor") or {}
        found = ImagePlatform(platform=name, digest=str(entry.get("ID") or descriptor.get("digest") or ""),
                              media_type=str(descriptor.get("mediaType") or ""),
                              os_version=str((data.get("Platform") or {}).get("os.version") or ""))
        (held if entry.get("Available") else absent).append(found)
    return tuple(held), tuple(absent)


def _local(inspect: dict[str, Any], summary: dict[str, Any] | None = None) -> LocalImage:
    held, absent = store_manifests(summary) if summary else ((), ())
    return LocalImage(id=str(inspect.get("Id", "")), platform=image_platform(inspect),
                      repo_tags=tuple(inspect.get("RepoTags") or ()), repo_digests=tuple(inspect.get("RepoDigests") or ()),
                      manifests=held, absent=absent)


def _canonical(ref: str) -> str | None:
    from dockdoctor.reference import ReferenceError, parse

    try:
        return parse(ref).canonical
    except ReferenceError:
        return None


def _lists_manifests(api_version: str) -> bool:
    """Whether an engine of this API version lists each image's manifests (Engine API 1.47, Docker 27.3)."""
    try:
        return tuple(int(x) for x in api_version.split(".")[:2]) >= (1, 47)
    except ValueError:
        return False


def _gather(client: Any, refs: Sequence[str], with_containers: bool, api_version: str) -> ImageFacts:
    import docker

    images: dict[str, LocalImage] = {}
    errors: list[ProbeError] = []

    def inspect(ref: str, summary: dict[str, Any] | None = None) -> LocalImage | None:
        try:
            found = _local(client.inspect_image(ref), summary)
        except docker.errors.APIError:  # not found, or a reference the engine rejects (the registry check says why)
            return None
        return images.setdefault(found.id, found)

    # One listing finds which references have local copies; only those are inspected (for the platform a plain
    # `docker run` uses). From API 1.47 it also lists each image's manifests (the containerd image store's).
    wanted = {_canonical(r) for r in refs} - {None}
    if wanted:
        if _lists_manifests(api_version):
            listing = client._result(client._get(client._url("/images/json"), params={"manifests": "1"}), True)
        else:
            listing = client.images()
        for summary in listing:
            if any(_canonical(tag) in wanted for tag in summary.get("RepoTags") or ()):
                inspect(str(summary["Id"]), summary)
    containers: list[ContainerFacts] = []
    if with_containers:
        for summary in client.containers(all=True)[:MAX_CONTAINERS]:
            image = inspect(summary.get("ImageID") or summary.get("Image", ""))
            # with the containerd image store the image is an index: the container names the manifest it runs
            platform = _oci_platform((summary.get("ImageManifestDescriptor") or {}).get("platform"))
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
                                             platform=platform or (image.platform if image else "unknown"),
                                             state=state,
                                             exit_code=exit_code, exec_format_error=exec_error))
    return ImageFacts(local=tuple(images.values()), containers=tuple(containers), errors=tuple(errors))


def probe_local_images(endpoint: str, *, tls: TLSFiles | None, timeout: float, api_version: str,
                       refs: Iterable[str] = (), with_containers: bool = True) -> ImageFacts:
    """Local copies of `refs` and every container (with its image) on the engine."""
    result = with_client(endpoint, tls=tls, timeout=timeout, api_version=api_version,
                         call=lambda client: _gather(client, tuple(refs), with_containers, api_version))
    if isinstance(result, ProbeError):
        return ImageFacts(errors=(ProbeError(probe="images", kind=result.kind, detail=result.detail),))
    return result
