"""The check catalog: every check in one explicit, ID-sorted tuple, plus lookups and retired IDs.

ID ranges: DKD0xx dockdoctor itself, DKD1xx host, DKD2xx engine and endpoint, DKD3xx images and registries,
DKD4xx compose, DKD5xx buildx and emulation, DKD6xx project files, DKD7xx CI workflows (DKD719: inline
suppressions).
"""

from __future__ import annotations

import importlib
import re

from dockdoctor.checks._spec import CheckSpec, Context
from dockdoctor.errors import UnknownCheckError

# Where each ID range lives, longest prefix first (tests/checks/test_catalog.py proves every check is where its
# code says): a run that names its checks by code (`inspect`) imports those modules only, not the whole catalog.
HOMES: tuple[tuple[str, str], ...] = (
    ("DKD719", "suppressions"),
    ("DKD23", "fleet"),
    ("DKD24", "kube"),
    ("DKD32", "errors"),
    ("DKD34", "deep"),
    ("DKD53", "defects"),
    ("DKD54", "emulated"),
    ("DKD62", "pins"),
    ("DKD63", "natives"),
    ("DKD0", "meta"),
    ("DKD1", "host"),
    ("DKD2", "engine"),
    ("DKD3", "images"),
    ("DKD4", "compose"),
    ("DKD5", "build"),
    ("DKD6", "project"),
    ("DKD7", "workflows"),
)
_CODE = re.compile(r"DKD\d{3}")

ALL_CHECKS: tuple[CheckSpec, ...]  # every check, ID-sorted: built on first use (__getattr__, below)


def _all_checks() -> tuple[CheckSpec, ...]:
    """The catalog: every check module imported, every check listed once in ID order."""
    from dockdoctor.checks import (
        build,
        compose,
        deep,
        defects,
        emulated,
        engine,
        errors,
        fleet,
        host,
        images,
        kube,
        meta,
        natives,
        pins,
        project,
        suppressions,
        workflows,
    )

    return (
        meta.probe_failed,
        host.shell_translated_by_rosetta,
        host.vm_cpu_model_lowers_level,
        host.rosetta_not_installed,
        engine.engine_unreachable,
        engine.docker_host_overrides_context,
        engine.several_engines,
        engine.engine_arch_differs_from_host,
        engine.default_platform_forces_emulation,
        engine.unknown_context,
        engine.docker_config_unreadable,
        engine.x86_vm_on_apple_silicon,
        engine.podman_machine_amd64_under_qemu,
        engine.podman_machine_cannot_run_amd64,
        engine.wsl_default_distro_is_wsl1,
        fleet.fleet_image_platforms_differ,
        fleet.fleet_builder_platform_differs,
        kube.kube_image_runs_on_no_node,
        kube.kube_image_lacks_some_node_platform,
        kube.kube_pod_platform_error,
        kube.kube_cluster_unreadable,
        kube.kube_partly_judged,
        images.image_lacks_target_platform,
        images.single_platform_foreign_image,
        images.local_copy_platform_differs,
        images.local_image_needs_emulation,
        images.container_exec_format_error,
        images.attestations_are_not_platforms,
        images.registry_lookup_failed,
        images.amd64_level_unsupported,
        errors.error_explained,
        errors.container_error_explained,
        images.deploy_image_lacks_target,
        deep.binary_arch_differs,
        deep.loader_missing_or_foreign,
        deep.isa_level_above_target,
        deep.deep_inspection_incomplete,
        deep.entrypoint_not_in_image,
        compose.compose_v1_only,
        compose.docker_compose_is_v1,
        compose.compose_platform_bug,
        compose.compose_missing,
        compose.service_image_lacks_target,
        compose.service_platform_mismatch,
        compose.build_service_host_only,
        compose.platform_key_unsupported,
        compose.default_platform_ignored,
        compose.built_image_wrong_platform,
        compose.service_pinned_off_target,
        compose.service_pin_cannot_run,
        build.buildx_missing,
        build.builder_cannot_multiplatform,
        build.no_emulation_for_target,
        build.binfmt_without_fix_binary,
        build.qemu_where_rosetta_available,
        build.target_runs_emulated,
        build.exec_format_error_with_emulator,
        build.emulated_cpu_below_image_level,
        defects.known_defect,
        emulated.workload_fails_under_emulator,
        emulated.base_image_level_above_cpu,
        emulated.avx_workload_under_old_qemu,
        project.dockerfile_invalid,
        project.hardcoded_from_platform,
        project.buildplatform_on_final_stage,
        project.target_arg_default,
        project.arch_specific_download,
        project.builder_stage_emulated,
        project.devcontainer_platform,
        project.project_file_skipped,
        project.deploy_targets_disagree,
        project.deploy_target_not_local,
        project.deploy_file_invalid,
        pins.pin_has_no_wheel_for_target,
        pins.package_index_not_asked,
        natives.host_modules_copied_into_image,
        natives.host_modules_bind_mounted,
        workflows.build_push_without_platforms,
        workflows.foreign_platform_without_qemu,
        workflows.qemu_pinned_to_defect,
        workflows.manifest_create_on_attested_image,
        suppressions.invalid_suppression,
    )


def _catalog() -> tuple[CheckSpec, ...]:
    found: tuple[CheckSpec, ...] | None = globals().get("ALL_CHECKS")
    if found is None:
        found = globals()["ALL_CHECKS"] = _all_checks()
    return found


def __getattr__(name: str) -> object:
    """PEP 562: ALL_CHECKS is built when first asked for, then stays a plain module attribute."""
    if name == "ALL_CHECKS":
        return _catalog()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# The checks that read no host, engine, compose, buildx or emulation fact: only the project scan, the registry
# answers, the environment, the targets and the knowledge base. `check --no-engine` runs these and lists the others
# as skipped. A check not named here needs the engine (the safe default for a new check).
ENGINE_FREE: frozenset[str] = frozenset(
    {
        "DKD001",  # probe errors: in --no-engine only the project and registry probes run, so only theirs
        "DKD240",
        "DKD241",
        "DKD242",
        "DKD243",
        "DKD244",  # the cluster (`check --kube`): kubectl's answers and the registry answers
        "DKD301",
        "DKD302",
        "DKD306",
        "DKD307",
        "DKD330",  # registry answers vs the targets
        "DKD411",  # compose `platform:` vs the registry and the targets
        "DKD601",
        "DKD602",
        "DKD603",
        "DKD604",
        "DKD605",  # Dockerfiles
        "DKD609",
        "DKD610",
        "DKD612",  # project files skipped, deploy files disagreeing or invalid
        "DKD620",
        "DKD621",  # Python pins vs the package index's wheels for the targets
        "DKD701",
        "DKD702",
        "DKD703",
        "DKD704",  # CI workflows (their runners, not this engine)
        "DKD719",  # inline suppression comments
    }
)


def needs_engine(spec: CheckSpec) -> bool:
    """Whether a check reads facts only the host and engine probes gather (`check --no-engine` skips it)."""
    return spec.id not in ENGINE_FREE


RETIRED: dict[str, str] = {}
REDIRECTS: dict[str, str] = {}


def lookup(name: str) -> CheckSpec:
    """A check by code (`DKD201`) or slug (`engine-unreachable`); raises UnknownCheckError.

    A code is looked up in its range's module alone (HOMES) while the whole catalog is not loaded yet."""
    key = REDIRECTS.get(name, name)
    if "ALL_CHECKS" not in globals() and _CODE.fullmatch(key.upper()):
        found = _at_home(key.upper())
        if found is not None:
            return found
    for spec in _catalog():
        if key.upper() == spec.id or key.lower() == spec.slug:
            return spec
    if key.upper() in RETIRED:
        raise UnknownCheckError(f"{name}: retired check ({RETIRED[key.upper()]})")
    raise UnknownCheckError(f"no check named {name!r}; `dockdoctor check --list-checks` lists them")


def home(code: str) -> str | None:
    """The module (in dockdoctor.checks) a check code's range lives in, by HOMES; None outside every range."""
    return next((module for prefix, module in HOMES if code.startswith(prefix)), None)


def _at_home(code: str) -> CheckSpec | None:
    module = home(code)
    if module is None:
        return None
    found = vars(importlib.import_module(f"{__name__}.{module}")).values()
    return next((spec for spec in found if isinstance(spec, CheckSpec) and spec.id == code), None)


__all__ = [
    "ALL_CHECKS",
    "CheckSpec",
    "Context",
    "ENGINE_FREE",
    "REDIRECTS",
    "RETIRED",
    "home",
    "lookup",
    "needs_engine",
]
