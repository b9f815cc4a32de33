"""Facts: frozen, typed records of what the probes saw; they round-trip through JSON losslessly."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from dockdoctor.model.location import DotenvEntry, Line, Origin, Place

SCHEMA_VERSION = 2  # 2: the emulation fields (model/migrate.py brings version 1 files up)


class ProbeErrorKind(str, Enum):
    """What kind of failure a probe met: every kind a probe, the registry client or a file parser reports."""

    # reaching something
    TIMEOUT = "timeout"
    UNREACHABLE = "unreachable"
    REFUSED = "refused"
    TLS = "tls"
    SSH = "ssh"
    NOT_FOUND = "not-found"  # a command, file, socket, image or tag that is not there
    PERMISSION = "permission"
    # registries
    AUTH_REQUIRED = "auth-required"
    AUTH_FAILED = "auth-failed"
    UNAUTHORIZED = "unauthorized"  # a Kubernetes API that refused the credentials (kubectl)
    DENIED = "denied"
    RATE_LIMITED = "rate-limited"
    INVALID_REFERENCE = "invalid-reference"
    DIGEST_MISMATCH = "digest-mismatch"
    LOCAL_ONLY = "local-only"  # an image the engine holds that no registry was asked about
    OFFLINE = "offline"  # --offline and not in the cache
    # what came back
    PROTOCOL = "protocol"  # an answer that is not what the protocol says
    LIMIT = "limit"  # larger or deeper than dockdoctor reads
    TOO_LARGE = "too-large"
    NOT_JSON = "not-json"
    CORRUPT = "corrupt"
    TRUNCATED = "truncated"
    NOT_GZIP = "not-gzip"
    UNSUPPORTED = "unsupported"
    SYMLINK_LOOP = "symlink-loop"
    NO_COMMAND = "no-command"
    # the user's files
    CONFIG = "config"
    PARSE = "parse"
    NESTING = "nesting"  # nested too deeply to parse
    INVALID = "invalid"
    READ = "read"
    COMPOSE = "compose"  # `docker compose config` refused the project
    ERROR = "error"  # anything else

    def __str__(self) -> str:  # as the string it replaced: f"{kind}" and str() give the value (like StrEnum)
        return str(self.value)


@dataclass(frozen=True, slots=True)
class ProbeError:
    """A probe that could not get its answer: which probe, what kind of failure, and the detail seen."""

    probe: str
    kind: ProbeErrorKind
    detail: str


@dataclass(frozen=True, slots=True)
class RawAnswer:
    """A probe's raw answer as it arrived (command output, file content, API JSON), for support bundles."""

    probe: str
    source: str  # the command line, file path or API request
    text: str


@dataclass(frozen=True, slots=True)
class HostFacts:
    """The machine dockdoctor runs on."""

    os: str  # linux | darwin | windows
    arch: str  # normalized: amd64, arm64, arm, 386 ...
    machine: str  # raw uname -m
    os_release: str = ""  # "Debian GNU/Linux 12 (bookworm)", "macOS 14.5"
    kernel: str = ""
    wsl: bool = False
    apple_silicon: bool | None = None  # hw.optional.arm64 on a Mac
    rosetta_translated: bool | None = None  # sysctl.proc_translated on a Mac
    amd64_level: int | None = None  # x86-64 microarchitecture level from CPU flags
    root: bool = False  # dockdoctor runs as root (fix commands then need no sudo)
    hostname: str = ""  # identity, recorded so that redaction can replace it everywhere
    user: str = ""
    home: str = ""
    errors: tuple[ProbeError, ...] = ()
    macos_version: str = ""  # `sw_vers -productVersion`: "14.5", "12.7.6"
    rosetta_installed: bool | None = None  # the Rosetta runtime is present (/Library/Apple/usr/libexec/oah/...)
    cpu_model: str = ""  # /proc/cpuinfo `model name`: "QEMU Virtual CPU version 2.5+", "Common KVM processor"
    virtual_machine: bool | None = None  # cpuinfo's `hypervisor` flag or a DMI vendor of a hypervisor
    hypervisor: str = ""  # /sys/class/dmi/id sys_vendor and product_name: "QEMU Standard PC (i440FX + PIIX, 1996)"


class EndpointRule(str, Enum):
    """Which rule of the docker CLI's lookup chose the engine endpoint."""

    DOCKER_HOST = "DOCKER_HOST"
    DOCKER_CONTEXT = "DOCKER_CONTEXT"
    CURRENT_CONTEXT = "currentContext"
    DEFAULT = "default"


class Flavor(str, Enum):
    """The product behind the Docker API endpoint."""

    DOCKER_DESKTOP = "docker-desktop"
    ORBSTACK = "orbstack"
    COLIMA = "colima"
    RANCHER_DESKTOP = "rancher-desktop"
    PODMAN = "podman"
    LIMA = "lima"
    DOCKERD = "dockerd"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Evidence:
    """One observed value and what it suggests: `field` is where it was read, `value` what was read."""

    field: str
    value: str
    suggests: str = ""


@dataclass(frozen=True, slots=True)
class ContextFacts:
    """A docker CLI context and whether its socket is there."""

    name: str
    host: str
    description: str = ""
    socket_exists: bool | None = None  # None for tcp:// and ssh:// endpoints
    current: bool = False
    resolved: str = ""  # a unix socket's path with every symlink resolved ("" when not a unix socket)
    live: bool | None = None  # a connect() to the socket succeeded; None when not tried (tcp, ssh, older facts)
    engine_id: str = ""  # /info ID of the engine that answered there, asked only when live sockets differ


@dataclass(frozen=True, slots=True)
class EngineFacts:
    """The Docker API endpoint the CLI would talk to, and what answered there."""

    endpoint: str
    endpoint_rule: EndpointRule
    context: str | None
    selected_context: str | None = None  # what DOCKER_CONTEXT / currentContext names, even when DOCKER_HOST wins
    contexts: tuple[ContextFacts, ...] = ()
    reachable: bool = False
    error: ProbeError | None = None
    flavor: Flavor = Flavor.UNKNOWN
    evidence: tuple[Evidence, ...] = ()
    remote: bool = False
    platform: str | None = None  # the engine's native platform, e.g. linux/arm64
    server_version: str | None = None
    api_version: str | None = None
    os_type: str | None = None
    operating_system: str | None = None
    kernel_version: str | None = None
    architecture: str | None = None  # raw, as /info says (x86_64, aarch64)
    name: str | None = None
    components: tuple[tuple[str, str], ...] = ()  # (name, version) from /version
    labels: tuple[str, ...] = ()
    insecure_registries: tuple[str, ...] = ()
    registry_mirrors: tuple[str, ...] = ()
    http_proxy: str = ""
    https_proxy: str = ""
    no_proxy: str = ""
    containerd_snapshotter: bool = False
    config_error: ProbeError | None = None  # the docker CLI config could not be read
    engine_id: str | None = None  # /info ID: the same engine reached through two sockets has one ID
    context_errors: tuple[ProbeError, ...] = ()  # contexts whose socket could not be tried (permission, timeout)
    product_version: str | None = None  # the product's own release: "4.33.0" from "Docker Desktop 4.33.0 (160616)"


@dataclass(frozen=True, slots=True)
class ComposeTool:
    """One compose executable and the version it reports."""

    command: tuple[str, ...]  # ("docker", "compose") or ("docker-compose",)
    version: str  # "2.40.3", "1.29.2"
    major: int
    path: str = ""


@dataclass(frozen=True, slots=True)
class ComposeFacts:
    """Compose v1 (Python) and v2 (Go plugin), and what the `docker-compose` command really is."""

    v1: ComposeTool | None = None
    v2: ComposeTool | None = None
    docker_compose: ComposeTool | None = None  # the `docker-compose` command, whichever major it is
    errors: tuple[ProbeError, ...] = ()


@dataclass(frozen=True, slots=True)
class Builder:
    """A buildx builder (one node is enough for what we diagnose)."""

    name: str
    driver: str
    status: str
    platforms: tuple[str, ...] = ()
    current: bool = False
    endpoint: str = ""


@dataclass(frozen=True, slots=True)
class BuildxFacts:
    """The buildx plugin and its builders."""

    installed: bool = False
    version: str | None = None
    builders: tuple[Builder, ...] = ()
    current: str | None = None
    error: ProbeError | None = None


@dataclass(frozen=True, slots=True)
class BinfmtHandler:
    """One entry of /proc/sys/fs/binfmt_misc."""

    name: str
    enabled: bool
    interpreter: str
    flags: str
    platform: str | None  # the platform its ELF magic matches, e.g. linux/arm64
    emulator: str = ""  # qemu | rosetta | box64 | fex | "" (unknown interpreter)
    installer: str = ""  # who registered it, from the interpreter path: distribution | tonistiigi/binfmt | lima ...
    version: str = ""  # the interpreter's own version: "7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)"
    version_source: str = ""  # how the version was known: the command run, or the package database


@dataclass(frozen=True, slots=True)
class RosettaSetting:
    """Whether an engine's own settings file turns on Rosetta for amd64 containers."""

    source: str  # docker-desktop | orbstack | colima
    enabled: bool | None
    path: str


@dataclass(frozen=True, slots=True)
class EmulatedPlatform:
    """A non-native platform the engine can run, and what makes it runnable."""

    platform: str
    via: str  # "qemu (binfmt qemu-aarch64)", "rosetta", "buildx builder desktop-linux"
    emulator: str = ""  # qemu | rosetta | "" when only a builder's platform list says it runs
    version: str = ""  # the emulator's version, when known
    known_by: str = ""  # how it was known: "binfmt_misc qemu-aarch64 + qemu-aarch64-static --version" ...


@dataclass(frozen=True, slots=True)
class EngineSettings:
    """One Mac engine's (or VM's) emulation settings, as its own settings file or CLI has them."""

    product: str  # docker-desktop | orbstack | colima | lima | rancher-desktop | podman | minikube | finch | wsl
    source: str  # the file read or the command run
    profile: str = ""  # Colima profile, Lima instance, Podman machine; "" for single-instance products
    rosetta: bool | None = None
    vm_type: str = ""  # vz | qemu | hyperkit | docker-vmm | applehv | libkrun, as the product names it
    arch: str = ""  # the VM's architecture, normalized: arm64, amd64
    status: str = ""  # Running, Stopped (Colima, Lima, Podman)
    version: str = ""  # the product's version, when the file or CLI says it
    endpoint: str = ""  # the engine address the product hands out (minikube docker-env's DOCKER_HOST)
    rootful: bool | None = None  # Podman machine: rootful (true) or rootless container execution
    image: str = ""  # the VM's OS image, as `podman info` names it: "fedora coreos 42", "fedora podman-machine-os 44"
    # The platforms the VM's binfmt_misc handlers run, as `podman info` lists them (host.emulatedArchitectures);
    # None when not reported (another product, an older Podman, or `podman info` not asked)
    emulated_platforms: tuple[str, ...] | None = None
    default: bool | None = None  # WSL: the default distribution (`*` in `wsl.exe -l -v`), where the integration is on


@dataclass(frozen=True, slots=True)
class EmulationFacts:
    """Emulation on this machine: binfmt handlers, Rosetta settings, and what the engine can run with them."""

    binfmt_readable: bool = False
    handlers: tuple[BinfmtHandler, ...] = ()
    rosetta: tuple[RosettaSetting, ...] = ()
    emulated: tuple[EmulatedPlatform, ...] = ()
    errors: tuple[ProbeError, ...] = ()
    settings: tuple[EngineSettings, ...] = ()  # each Mac engine's VM type, architecture, Rosetta (every profile)
    binfmt_enabled: bool | None = None  # binfmt_misc's global `status`: disabled turns every handler off


@dataclass(frozen=True, slots=True)
class ImagePlatform:
    """One runnable platform an image offers: an index entry, or a single manifest's config."""

    platform: str  # normalized, e.g. linux/arm64, linux/arm/v7, linux/amd64/v3
    digest: str  # the platform manifest's digest
    media_type: str
    os_version: str = ""  # Windows os.version


@dataclass(frozen=True, slots=True)
class Attestation:
    """An index entry that is not a platform: a BuildKit attestation (SBOM, provenance) for an image manifest."""

    digest: str
    refers_to: str  # the image manifest digest it describes (vnd.docker.reference.digest)
    media_type: str


@dataclass(frozen=True, slots=True)
class TagCandidate:
    """A tag of the same repository checked as a replacement: what its manifest offers, or why that is unknown."""

    tag: str
    reference: str  # the reference with this tag, as the user's reference is written
    platforms: tuple[str, ...] = ()  # normalized, as ImagePlatform.platform
    digest: str | None = None
    error: str = ""  # the lookup failed (the candidate is then never offered)


@dataclass(frozen=True, slots=True)
class TagSearch:
    """The search for a tag that offers the platforms an image lacks: the tags listed, the candidates checked."""

    targets: tuple[str, ...] = ()  # the platforms searched for (every target, so an offer breaks none)
    tags_listed: int = 0
    candidates: tuple[TagCandidate, ...] = ()  # checked, best ranked first
    note: str = ""  # why the search is partial or was not made: no tag list, too many tags, budget spent
    complete: bool = True  # False when the tag list could not be read in full (note says why)


class ImageKind(str, Enum):
    """What a registry answered for a reference (NONE: no answer, see the error)."""

    NONE = ""
    INDEX = "index"
    MANIFEST = "manifest"
    SCHEMA1 = "schema1"
    ARTIFACT = "artifact"
    LOCAL = "local"  # no registry knows it: the engine's local copy stands in (checks only, never gathered)

    def __str__(self) -> str:  # as the string it replaced: f"{kind}" and str() give the value (like StrEnum)
        return str(self.value)


@dataclass(frozen=True, slots=True)
class RemoteImage:
    """What a registry says an image reference offers."""

    reference: str  # as the user wrote it
    canonical: str  # normalized, e.g. docker.io/library/nginx:latest
    digest: str | None = None  # of the top-level manifest or index
    kind: ImageKind = ImageKind.NONE
    media_type: str = ""
    platforms: tuple[ImagePlatform, ...] = ()
    attestations: tuple[Attestation, ...] = ()
    artifact_type: str = ""  # set for artifacts (Helm charts, signatures): not runnable
    error: ProbeError | None = None
    from_cache: bool = False
    alternatives: TagSearch | None = None  # other tags of the repository, when this one lacks a target


@dataclass(frozen=True, slots=True)
class LocalImage:
    """An image in the engine's store."""

    id: str
    platform: str  # os/arch[/variant] from the image config
    repo_tags: tuple[str, ...] = ()
    repo_digests: tuple[str, ...] = ()
    # With the containerd image store the local image is the whole index: the platforms whose content the
    # engine holds, and those it lists without holding (a `docker run --platform` of one pulls it then).
    manifests: tuple[ImagePlatform, ...] = ()
    absent: tuple[ImagePlatform, ...] = ()


@dataclass(frozen=True, slots=True)
class FileHead:
    """What the first bytes of a file in a container say it is (the entrypoint of a failed container)."""

    path: str
    kind: str  # absent | empty | elf | script | script-no-shebang | crlf | lfs-pointer | macho | pe | text
    size: int = 0
    executable: bool | None = None
    elf_platform: str | None = None  # for kind elf: the platform of its e_machine, e.g. linux/amd64
    interpreter: str = ""  # the ELF loader (PT_INTERP) or the script's #! line
    interpreter_present: bool | None = None  # whether the container holds that loader or interpreter


@dataclass(frozen=True, slots=True)
class ContainerFacts:
    """A container, its image's platform, and for failed ones how they ended and their last log lines."""

    id: str
    name: str
    image: str
    image_id: str
    platform: str
    state: str
    exit_code: int | None = None
    exec_format_error: bool = False
    restarting: bool = False
    restart_count: int = 0
    emulator: str | None = None  # what ran a non-native container (the emulation facts' `via`), None when native
    error: str = ""  # State.Error: the runtime's own message (e.g. `exec format error` before any log line)
    log_tail: tuple[str, ...] = ()  # the last lines of its log, control characters escaped
    entrypoint: tuple[str, ...] = ()  # the argv it ran (Entrypoint + Cmd)
    entry_file: FileHead | None = None  # its first argv word as found in the container


@dataclass(frozen=True, slots=True)
class ElfFacts:
    """What an ELF header says: the machine it runs on, its loader and the x86-64 level its note requires."""

    arch: str  # amd64, arm64, arm, 386, ppc64le, s390x, riscv64 ... ("" for a machine dockdoctor does not know)
    machine: int  # e_machine
    bits: int  # 32 | 64
    endian: str  # little | big
    interpreter: str = ""  # PT_INTERP (glibc /lib64/ld-linux-x86-64.so.2, musl /lib/ld-musl-aarch64.so.1); "" static
    isa_level: int | None = None  # GNU_PROPERTY_X86_ISA_1_NEEDED as an x86-64 level (1 baseline .. 4)


@dataclass(frozen=True, slots=True)
class ImageFile:
    """A file inside an image, found through its layers (never through a container)."""

    path: str  # where it resolved, e.g. /bin/busybox for /bin/sh
    kind: str  # absent | elf | script | crlf | script-no-shebang | not-a-file | empty | other
    links: tuple[str, ...] = ()  # "/bin/sh -> busybox" for every symbolic link followed
    size: int = 0
    executable: bool | None = None
    elf: ElfFacts | None = None
    shebang: str = ""  # a script's #! line, control characters escaped
    layer: int | None = None  # the layer it came from (0 = the base)


@dataclass(frozen=True, slots=True)
class DeepImage:
    """`--deep`: the file a target's container would exec, read from the image's layers, and what it cost."""

    reference: str
    target: str  # the target platform this image variant was chosen for
    platform: str  # the variant's platform, as its manifest (config) says
    digest: str  # that variant's manifest digest
    argv: tuple[str, ...] = ()  # Entrypoint + Cmd from the config
    entry: ImageFile | None = None  # argv[0] resolved against PATH, WorkingDir and links
    interpreter: ImageFile | None = None  # a script's #! interpreter (followed once)
    loader: ImageFile | None = None  # PT_INTERP of the ELF that runs (the entry, or the script's interpreter)
    bytes_read: int = 0  # compressed bytes read from the registry for this image (0: all from the cache)
    compressed_size: int = 0  # the sum of the layers' sizes: what a pull downloads
    layers: int = 0
    layers_read: int = 0  # layers streamed (the others were answered from the cache or not needed)
    error: ProbeError | None = None


@dataclass(frozen=True, slots=True)
class ImageFacts:
    """Images: registry manifests for the references asked about, local images and containers."""

    remote: tuple[RemoteImage, ...] = ()
    local: tuple[LocalImage, ...] = ()
    containers: tuple[ContainerFacts, ...] = ()
    errors: tuple[ProbeError, ...] = ()
    deep: tuple[DeepImage, ...] = ()  # `--deep`: the entrypoint file of each image variant a target runs


@dataclass(frozen=True, slots=True)
class ArchSpecific:
    """A RUN/ADD/COPY line that fetches an architecture-specific artifact without using the target variables."""

    line: int
    arch: str  # the normalized architecture named, e.g. amd64 for x86_64/x64
    text: str  # the instruction, shortened


@dataclass(frozen=True, slots=True)
class Stage:
    """One FROM stage of a Dockerfile."""

    index: int
    line: int
    base: str  # the image or stage after ARG substitution
    base_raw: str  # as written
    name: str | None = None  # AS name
    platform: str | None = None  # the --platform value as written: linux/amd64, $BUILDPLATFORM ...
    from_stage: bool = False  # FROM names an earlier stage
    final: bool = False
    uses_target_vars: bool = False  # TARGETARCH/TARGETPLATFORM/TARGETOS/TARGETVARIANT used in the stage
    arch_specific: tuple[ArchSpecific, ...] = ()
    text: str = ""  # the FROM line as written, so that a fix can show an exact diff
    runs: bool = False  # the stage has RUN instructions (it executes code for its platform)


@dataclass(frozen=True, slots=True)
class ArgDefault:
    """An ARG with a default value (global ones come before the first FROM)."""

    name: str
    default: str
    line: int
    global_scope: bool = False
    text: str = ""  # the ARG line as written


@dataclass(frozen=True, slots=True)
class DockerfileFacts:
    """A parsed Dockerfile."""

    path: str
    stages: tuple[Stage, ...] = ()
    args: tuple[ArgDefault, ...] = ()
    error: ProbeError | None = None  # parse error, with file and line in the detail


@dataclass(frozen=True, slots=True)
class ServiceBuild:
    """A compose service's `build:` section."""

    context: str
    dockerfile: str = "Dockerfile"
    target: str | None = None
    platforms: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ServiceFacts:
    """One compose service as compose resolves it."""

    name: str
    image: str | None = None
    platform: str | None = None
    build: ServiceBuild | None = None
    origins: tuple[Origin, ...] = ()
    volumes: tuple[str, ...] = ()  # "source:target" (a bind or a named volume) or "target" (an anonymous volume)


@dataclass(frozen=True, slots=True)
class ComposeProject:
    """A compose project: its files, how it was resolved, the `version:` key, and its services."""

    files: tuple[str, ...]
    resolved_by: str  # "docker compose config" | "dockdoctor"
    version_key: str | None = None  # the legacy `version:` value, which matters to compose v1
    services: tuple[ServiceFacts, ...] = ()
    error: ProbeError | None = None


@dataclass(frozen=True, slots=True)
class DevcontainerFacts:
    """A dev container definition."""

    path: str
    image: str | None = None
    dockerfile: str | None = None
    compose_files: tuple[str, ...] = ()
    service: str | None = None
    run_args_platform: str | None = None
    error: ProbeError | None = None
    compose: ComposeProject | None = None  # its dockerComposeFile files, when they are not the project's own


@dataclass(frozen=True, slots=True)
class DeployTarget:
    """A platform a deploy file says the project runs on, and where it says so."""

    platform: str  # normalized, e.g. linux/arm64
    source: Place  # "deploy/api.yaml:17 nodeSelector", ".github/workflows/build.yml:31 platforms"


@dataclass(frozen=True, slots=True)
class DeployImage:
    """An image a deploy file runs (a Kubernetes container, an ECS container, a Lambda image) and its platforms."""

    reference: str
    source: Place  # "deploy/api.yaml:21 containers[api].image"
    platforms: tuple[str, ...] = ()  # where this file runs it (its workload's node selector); () = the file's targets
    workload: str = ""  # Kubernetes: kind/namespace/name of the workload it belongs to (namespace "" = not given)
    pod_spec: Line = Line()  # Kubernetes: the pod spec's first line, where a key can go; number 0: not known
    node_selector: bool = False  # Kubernetes: the pod spec already has a nodeSelector


@dataclass(frozen=True, slots=True)
class DeployFile:
    """A file that says where the project is deployed: Kubernetes, Helm, ECS, SAM, Serverless, CDK, CI, fly.toml."""

    path: str
    kind: (
        str  # kubernetes | helm | ecs | sam | serverless | cdk | github-actions | gitlab-ci | fly | cloud-run | compose
    )
    targets: tuple[DeployTarget, ...] = ()
    images: tuple[DeployImage, ...] = ()
    error: ProbeError | None = None


@dataclass(frozen=True, slots=True)
class PythonPin:
    """A `name==version` pin that a Dockerfile stage installs with pip, and that stage's interpreter and libc."""

    name: str  # normalized (PEP 503)
    version: str
    source: Place  # "requirements.txt:3"
    text: str  # the requirements line as written (an edit fix replaces it)
    dockerfile: str
    line: int  # the RUN line that installs it
    python: str  # "3.11", from the stage's base image tag
    libc: str  # "glibc" | "musl"
    kind: str = "requirements"  # requirements | command | pyproject.toml | poetry.lock | uv.lock | Pipfile.lock
    index: str = ""  # the index asked for it (credentials removed); "" in facts from before it was recorded
    extra_indexes: tuple[str, ...] = ()  # --extra-index-url / PIP_EXTRA_INDEX_URL ones, asked too
    index_source: str = ""  # what chose the index: "Dockerfile:3 ENV PIP_INDEX_URL", "~/.config/pip/pip.conf ..."
    distro: str = ""  # the Debian release the base tag names ("bookworm"); "" when the tag names none


@dataclass(frozen=True, slots=True)
class IndexRelease:
    """One release of a project on the package index: its version and its file names."""

    version: str
    files: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class IndexProject:
    """What the package index answered for one pinned project: the pinned release and the later ones."""

    name: str
    index: str  # the index URL asked (credentials removed)
    releases: tuple[IndexRelease, ...] = ()
    error: ProbeError | None = None


@dataclass(frozen=True, slots=True)
class CiStep:
    """A CI step that builds, emulates or assembles images, as the workflow scanner read it (lines 1-based)."""

    kind: str  # build-push-action | buildx-build | setup-qemu | binfmt-install | manifest-create
    line: int  # the step's first line (`- uses:`, `- name:`) or the script line
    text: str = ""  # that line as written
    uses: str = ""  # the action as named, e.g. "docker/build-push-action@v6"
    platforms: tuple[str, ...] = ()  # normalized platforms it builds, or emulates (setup-qemu; () = its default)
    platforms_given: bool = False  # `platforms:` / `--platform` is there (an expression leaves `platforms` empty)
    image: str = ""  # setup-qemu-action's `image:` input, or the binfmt image a script runs
    image_line: int = 0
    image_text: str = ""  # the line that names the image, as written
    push: bool = False  # it pushes (`push: true`, `--push`, an output with push=true)
    provenance: str = ""  # its `provenance:` input or `--provenance` value; "" = not given
    with_line: int = 0  # build-push-action: the `with:` line (0: none); where an input is inserted
    with_text: str = ""
    input_indent: str = ""  # the indentation of the step's inputs under `with:` (or of its keys, without `with:`)
    key_indent: str = ""  # the indentation of the step's keys (`uses:`, `with:`)


@dataclass(frozen=True, slots=True)
class CiJob:
    """A CI job: where it runs (GitHub `runs-on`, GitLab `tags`) and its image steps in order."""

    name: str
    line: int
    runner: tuple[str, ...] = ()  # the runner labels or tags as written; () = not given
    runner_line: int = 0
    runner_expression: bool = False  # `runs-on: ${{ matrix.os }}`: decided when the workflow runs
    steps: tuple[CiStep, ...] = ()


@dataclass(frozen=True, slots=True)
class CiWorkflow:
    """A GitHub Actions workflow (.github/workflows/*.yml) or a .gitlab-ci.yml, as its image jobs."""

    path: str  # relative to the project folder
    kind: str  # github-actions | gitlab-ci
    jobs: tuple[CiJob, ...] = ()
    error: ProbeError | None = None


@dataclass(frozen=True, slots=True)
class Suppression:
    """`# dockdoctor: ignore=DKD605,slug reason` in a project file: the findings on its line or the next go."""

    file: str  # relative to the project folder
    line: int
    names: tuple[str, ...]  # the codes or slugs as written
    reason: str = ""  # "" = none given: the comment suppresses nothing and is itself reported (DKD719)
    text: str = ""  # the line as written


@dataclass(frozen=True, slots=True)
class HostMount:
    """A compose bind mount that puts a host-built folder into a container, and where an anonymous volume would go."""

    service: str
    volume: str  # as the service lists it: "./node_modules:/app/node_modules", ".:/app"
    target: str  # the folder's path in the container: "/app/node_modules"
    file: str = ""  # the compose file whose `volumes:` key lists it (relative to the project)
    line: int = 0  # that `volumes:` key's line (0: unknown, no edit)
    anchor: str = ""  # that line as written
    indent: str = ""  # the indent of its list items ("      ")
    platform: str = ""  # the service's `platform:`, when it has one


@dataclass(frozen=True, slots=True)
class HostBuilt:
    """A folder of packages installed on the host (node_modules, a Python virtual environment) that holds native
    code, and how it reaches images (COPY without a .dockerignore entry) and containers (compose bind mounts)."""

    path: str  # relative to the project: "node_modules", "web/node_modules", ".venv"
    kind: str  # "node_modules" | "venv"
    natives: tuple[str, ...] = ()  # what is native: "@esbuild/darwin-arm64 (os darwin, cpu arm64)", "bcrypt (.node)"
    platforms: tuple[str, ...] = ()  # what its native parts were built for, where they say: "darwin/arm64"
    copied_by: tuple[Place, ...] = ()  # "Dockerfile:5": COPY lines that put it into an image
    reinstalled: bool = False  # every copying stage installs its packages again afterwards (npm ci, pip install)
    dockerignore: str = ""  # the .dockerignore of the build context that copies it (relative; may not exist yet)
    dockerignore_end: Line = Line()  # that file's last line, where an entry is appended; number 0: no file
    ignore_entry: str = ""  # the line that would exclude it, relative to that context: "node_modules"
    mounts: tuple[HostMount, ...] = ()


@dataclass(frozen=True, slots=True)
class ProjectFacts:
    """The project folder's Dockerfiles, compose project, dev containers and `.env`."""

    root: str
    dockerfiles: tuple[DockerfileFacts, ...] = ()
    compose: ComposeProject | None = None
    devcontainers: tuple[DevcontainerFacts, ...] = ()
    dotenv: tuple[DotenvEntry, ...] = ()  # the DOCKER_*/COMPOSE_* keys, with their lines
    dotenv_end: Line = Line()  # the .env's last line: where an edit appends; number 0 = no file
    skipped: tuple[tuple[str, str], ...] = ()  # (path, reason): too large, symlink loop, unreadable
    errors: tuple[ProbeError, ...] = ()
    deploy: tuple[DeployFile, ...] = ()  # deploy files and the targets they name
    pins: tuple[PythonPin, ...] = ()  # `==` pins that Dockerfile stages pip-install
    index: tuple[IndexProject, ...] = ()  # the package index's answer per pinned project
    index_note: str = ""  # why the index was not asked (--offline), when it was not
    workflows: tuple[CiWorkflow, ...] = ()  # CI workflows that build images (DKD701-DKD704)
    suppressions: tuple[Suppression, ...] = ()  # inline `# dockdoctor: ignore=...` comments
    host_built: tuple[HostBuilt, ...] = ()  # node_modules / virtual environments built on the host, with native code


@dataclass(frozen=True, slots=True)
class ErrorText:
    """An error message the user brought (`explain-error`, `check --error`): where it came from and its text."""

    source: str  # "argument" | "stdin" | "file <path>"
    text: str


@dataclass(frozen=True, slots=True)
class FleetEngine:
    """One engine of a `check --all-contexts` run, as the fleet checks read it: its context, platform and images."""

    context: str
    endpoint: str
    reachable: bool = False
    platform: str | None = None  # the engine's native platform
    current: bool = False  # the context the docker CLI uses now (its buildx builders are the ones probed)
    images: tuple[LocalImage, ...] = ()


@dataclass(frozen=True, slots=True)
class Facts:
    """Everything one run of the probes saw. A saved Facts file replays the diagnosis offline."""

    host: HostFacts
    engine: EngineFacts
    compose: ComposeFacts = field(default_factory=ComposeFacts)
    buildx: BuildxFacts = field(default_factory=BuildxFacts)
    emulation: EmulationFacts = field(default_factory=EmulationFacts)
    images: ImageFacts = field(default_factory=ImageFacts)
    project: ProjectFacts | None = None
    environment: tuple[tuple[str, str], ...] = ()  # DOCKER_*/COMPOSE_* variables that were set
    raw: tuple[RawAnswer, ...] = ()  # only when gathered for a support bundle
    error_texts: tuple[ErrorText, ...] = ()  # errors the user pasted, explained by DKD320
    fleet: tuple[FleetEngine, ...] = ()  # `check --all-contexts`: every engine of the run; empty for one engine
    kube: KubeFacts | None = None  # `check --kube`: the cluster's nodes, workloads and failing pods
    redacted: bool = False
    schema_version: int = SCHEMA_VERSION
    dockdoctor_version: str = ""
    gathered_at: str = ""

    def env(self, name: str) -> str | None:
        """The value of an environment variable the probes recorded, or None."""
        for key, value in self.environment:
            if key == name:
                return value
        return None


from dockdoctor.model.kube import KubeFacts  # noqa: E402 - after the classes it builds on (no cycle at import)
