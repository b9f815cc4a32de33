"""Which image references a project uses: compose service images and Dockerfile base images (pure)."""

from __future__ import annotations

import re

from dockdoctor.model import ProjectFacts

_UNRESOLVED = re.compile(r"\$")


def project_images(project: ProjectFacts) -> tuple[str, ...]:
    """Service, dev container, deploy-file and external FROM images, in order, without duplicates, stages,
    `scratch` or unset variables."""
    refs: list[str] = []
    if project.compose is not None:
        refs += [s.image for s in project.compose.services if s.image and s.build is None]
    refs += [d.image for d in project.devcontainers if d.image]
    refs += [
        s.image for d in project.devcontainers if d.compose for s in d.compose.services if s.image and s.build is None
    ]
    refs += [image.reference for deploy in project.deploy for image in deploy.images]
    for dockerfile in project.dockerfiles:
        refs += [
            stage.base
            for stage in dockerfile.stages
            if not stage.from_stage and stage.base.lower() != "scratch" and not _UNRESOLVED.search(stage.base)
        ]
    return tuple(dict.fromkeys(r for r in refs if r and not _UNRESOLVED.search(r)))


def built_images(project: ProjectFacts) -> tuple[str, ...]:
    """The images compose services build (`build:` with `image:`): looked for locally, never in a registry."""
    if project.compose is None:
        return ()
    return tuple(
        dict.fromkeys(
            s.image
            for s in project.compose.services
            if s.image and s.build is not None and not _UNRESOLVED.search(s.image)
        )
    )
