"""The project probe: find and read Dockerfiles, compose files, dev containers and .env in the project folder."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from dockdoctor.model import ProjectFacts


def probe_project(root: str, *, compose_files: Sequence[str], env: Mapping[str, str], timeout: float) -> ProjectFacts:
    """Placeholder until discovery lands: an empty project."""
    return ProjectFacts(root=root)
