"""The JSON report: one document, the support-ticket contract."""

from __future__ import annotations

import json
from json.encoder import encode_basestring_ascii

from dockdoctor.codec import report_to_data
from dockdoctor.model import Report
from dockdoctor.render import RenderOptions


def render(report: Report, options: RenderOptions) -> str:
    return dumps(report_to_data(report, exit_code=int(report.exit_code(options.threshold)))) + "\n"


class _Unusual(Exception):
    """A value plain report data never holds (a key that is no string, a type JSON does not know)."""


def dumps(data: object, *, indent: int = 2) -> str:
    """`json.dumps(data, indent=indent)`, byte for byte: the standard library indents in pure Python, through a
    generator per container, the larger part of rendering a report; this writes the same text into one list.
    Anything but strings as keys and str, int, float, bool, None, list, tuple and dict as values goes to
    json.dumps itself."""
    out: list[str] = []
    try:
        _write(data, out, "\n", " " * indent)
    except _Unusual:
        return json.dumps(data, indent=indent)
    return "".join(out)


def _write(value: object, out: list[str], newline: str, step: str) -> None:
    # the order of json.encoder's _iterencode: str, None, True, False, int, float, list/tuple, dict
    if isinstance(value, str):
        out.append(encode_basestring_ascii(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    elif isinstance(value, float):
        out.append(_float(value))
    elif isinstance(value, (list, tuple)):
        if not value:
            out.append("[]")
            return
        inner = newline + step
        out.append("[" + inner)
        for i, item in enumerate(value):
            if i:
                out.append("," + inner)
            _write(item, out, inner, step)
        out.append(newline + "]")
    elif isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        inner = newline + step
        out.append("{" + inner)
        for i, (key, item) in enumerate(value.items()):
            if type(key) is not str:
                raise _Unusual
            out.append(("," + inner if i else "") + encode_basestring_ascii(key) + ": ")
            _write(item, out, inner, step)
        out.append(newline + "}")
    else:
        raise _Unusual


def _float(value: float) -> str:
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return float.__repr__(value)
