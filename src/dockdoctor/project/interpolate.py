"""Compose-style variable interpolation: `$VAR`, `${VAR:-default}`, `${VAR:?error}`, `$$` and friends."""

from __future__ import annotations

from collections.abc import Mapping

_HINT = "set it in .env or the environment"
_OPERATORS = (":?", ":-", ":+", "?", "-", "+")


class InterpolationError(ValueError):
    """A template compose would reject: a required variable without a value, or invalid `${...}` syntax."""

    def __init__(self, message: str, *, variable: str | None = None, template: str = "") -> None:
        super().__init__(message)
        self.variable = variable
        self.template = template


def interpolate(text: str, lookup: Mapping[str, str]) -> str:
    """`text` with every `$VAR`/`${...}` replaced from `lookup`, as the Compose Specification does it.

    Raises InterpolationError for `${VAR:?}`/`${VAR?}` with a missing value and for invalid syntax.
    """
    if "$" not in text:
        return text
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        dollar = text.find("$", i)
        if dollar < 0:
            out.append(text[i:])
            break
        out.append(text[i:dollar])
        i = _expand_at(text, dollar, lookup, out)
    return "".join(out)


def _expand_at(text: str, dollar: int, lookup: Mapping[str, str], out: list[str]) -> int:
    """Expand the `$...` at `dollar` into `out`; return the index just past it."""
    nxt = text[dollar + 1] if dollar + 1 < len(text) else ""
    if nxt == "$":
        out.append("$")
        return dollar + 2
    if nxt and _is_name_start(nxt):
        end = _name_end(text, dollar + 1)
        out.append(lookup.get(text[dollar + 1 : end], ""))
        return end
    if nxt == "{":
        close = _closing_brace(text, dollar + 2)
        if close < 0:
            raise _invalid(text)
        out.append(_braced(text[dollar + 2 : close], lookup, text))
        return close + 1
    out.append("$")
    return dollar + 1


def _braced(body: str, lookup: Mapping[str, str], template: str) -> str:
    """The value of one `${body}`."""
    name, operator, argument = _split_braced(body, template)
    value = lookup.get(name)
    match operator:
        case "":
            return value or ""
        case ":-":
            return interpolate(argument, lookup) if not value else value
        case "-":
            return interpolate(argument, lookup) if value is None else value
        case ":+":
            return interpolate(argument, lookup) if value else ""
        case "+":
            return interpolate(argument, lookup) if value is not None else ""
        case ":?" | "?":
            if value is None or (operator == ":?" and value == ""):
                raise _missing(name, interpolate(argument, lookup), template)
            return value
    raise _invalid(template)


def _split_braced(body: str, template: str) -> tuple[str, str, str]:
    """(name, operator, argument) of a `${...}` body; the first operator after the name wins."""
    if not body or not _is_name_start(body[0]):
        raise _invalid(template)
    end = _name_end(body, 0)
    name, rest = body[:end], body[end:]
    if not rest:
        return name, "", ""
    for operator in _OPERATORS:
        if rest.startswith(operator):
            return name, operator, rest[len(operator) :]
    raise _invalid(template)


def _closing_brace(text: str, start: int) -> int:
    """Index of the `}` closing a `${` whose body starts at `start` (nested braces counted), or -1."""
    depth = 1
    for i in range(start, len(text)):
        char = text[i]
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return i
    return text.rfind("}", start)  # unbalanced: compose's greedy pattern takes the last brace


def _is_name_start(char: str) -> bool:
    return char == "_" or ("a" <= char.lower() <= "z")


def _name_end(text: str, start: int) -> int:
    i = start
    while i < len(text) and (text[i] == "_" or text[i].isascii() and text[i].isalnum()):
        i += 1
    return i


def _missing(name: str, reason: str, template: str) -> InterpolationError:
    detail = f"{reason} ({_HINT})" if reason else _HINT
    return InterpolationError(
        f"required variable {name} is missing a value: {detail}", variable=name, template=template
    )


def _invalid(template: str) -> InterpolationError:
    return InterpolationError(
        f"invalid template {template!r}: write $NAME, ${{NAME}}, ${{NAME:-default}} or $$ for a literal $",
        template=template,
    )
