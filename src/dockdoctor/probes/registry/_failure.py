"""What a lookup needs before and without the network, kept light: RegistryFailure and the model's error kinds.

A lookup answered from the cache never imports http.client, ssl or email (_http.py and _auth.py are imported by
the first request), and a cold one sends that request before dockdoctor.model is imported: the model is
imported where results and errors are built. This module imports neither.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: nothing but this module's own code on the way to the first request
if TYPE_CHECKING:
    from dockdoctor.model import ProbeError, ProbeErrorKind

PROBE = "registry"

__all__ = ["PROBE", "Kind", "RegistryFailure"]


class RegistryFailure(Exception):
    """Internal control flow: carries the ProbeError the whole reference ends with."""

    def __init__(self, kind: ProbeErrorKind, detail: str) -> None:
        from dockdoctor.model import ProbeError

        super().__init__(detail)
        self.error: ProbeError = ProbeError(probe=PROBE, kind=kind, detail=detail)


class _Kinds:
    """`Kind.TIMEOUT` is `ProbeErrorKind.TIMEOUT`, with dockdoctor.model imported at that first use (a failure
    being built), not when the modules that name the kinds are imported."""

    __slots__ = ()

    def __getattr__(self, name: str) -> ProbeErrorKind:
        from dockdoctor.model import ProbeErrorKind

        kind: ProbeErrorKind = getattr(ProbeErrorKind, name)  # AttributeError for what it is not
        return kind


if TYPE_CHECKING:
    Kind = ProbeErrorKind
else:
    Kind = _Kinds()
