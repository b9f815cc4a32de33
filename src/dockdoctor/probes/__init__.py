"""The probes: the only code that touches the system. gather() and its options live in probes/gathering.py.

This module imports nothing of its own, so that importing one probe module costs only that module: `check`
starts its fixed commands through probes/_prestart.py before the model and the catalog are imported. The names
below are still importable from here (`from dockdoctor.probes import GatherOptions, gather`), loaded on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dockdoctor.probes.gathering import REGISTRY_MARGIN as REGISTRY_MARGIN
    from dockdoctor.probes.gathering import RENDER_MARGIN as RENDER_MARGIN
    from dockdoctor.probes.gathering import GatherOptions as GatherOptions
    from dockdoctor.probes.gathering import _gather as _gather
    from dockdoctor.probes.gathering import deep_requests as deep_requests
    from dockdoctor.probes.gathering import gather as gather
    from dockdoctor.probes.gathering import needs_engine as needs_engine

_FROM_GATHERING = frozenset(
    {"REGISTRY_MARGIN", "RENDER_MARGIN", "GatherOptions", "_gather", "deep_requests", "gather", "needs_engine"}
)


def __getattr__(name: str) -> Any:
    """gather() and its companions, imported from probes/gathering.py when first asked for (PEP 562)."""
    if name in _FROM_GATHERING:
        from dockdoctor.probes import gathering

        return getattr(gathering, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["GatherOptions", "gather"]
