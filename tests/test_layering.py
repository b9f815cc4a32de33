"""The layers import downward only, and only probes (and the fix applier) touch the system."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "src" / "dockdoctor"

# module prefix -> internal modules it may import (prefix match)
ALLOWED: dict[str, tuple[str, ...]] = {
    "dockdoctor.platforms": (),
    "dockdoctor.reference": (),
    "dockdoctor.errors": (),
    "dockdoctor.knowledge": (),
    "dockdoctor.model": ("dockdoctor.model", "dockdoctor.platforms", "dockdoctor.reference"),
    "dockdoctor.codec": ("dockdoctor.model", "dockdoctor.errors", "dockdoctor.platforms"),
    "dockdoctor.redact": ("dockdoctor.model", "dockdoctor.platforms", "dockdoctor.reference"),
    "dockdoctor.config": ("dockdoctor.model", "dockdoctor.errors", "dockdoctor.platforms"),
    "dockdoctor.schema": ("dockdoctor.model", "dockdoctor.codec"),
    "dockdoctor.checks": (
        "dockdoctor.checks",
        "dockdoctor.model",
        "dockdoctor.platforms",
        "dockdoctor.reference",
        "dockdoctor.errors",
        "dockdoctor.knowledge",
    ),
    "dockdoctor.render": ("dockdoctor.render", "dockdoctor.model", "dockdoctor.codec"),
    "dockdoctor.probes": (
        "dockdoctor.probes",
        "dockdoctor.model",
        "dockdoctor.platforms",
        "dockdoctor.reference",
        "dockdoctor.errors",
        "dockdoctor",
    ),
    "dockdoctor.docs": ("dockdoctor.checks", "dockdoctor.model"),
    "dockdoctor.project": (
        "dockdoctor.project",
        "dockdoctor.model",
        "dockdoctor.platforms",
        "dockdoctor.reference",
        "dockdoctor.errors",
        "dockdoctor.knowledge",
    ),
    "dockdoctor.bundle": ("dockdoctor.codec", "dockdoctor.errors", "dockdoctor.model", "dockdoctor.render"),
    "dockdoctor.fixes": ("dockdoctor.model", "dockdoctor.probes._run", "dockdoctor.files", "dockdoctor.errors"),
    "dockdoctor.files": ("dockdoctor.errors",),
    "dockdoctor.app": ("dockdoctor",),
    "dockdoctor.cli": ("dockdoctor",),
    "dockdoctor.__main__": ("dockdoctor.cli",),
    "dockdoctor": (),
}
PURE = (
    "dockdoctor.platforms",
    "dockdoctor.tagrank",
    "dockdoctor.knowledge",
    "dockdoctor.reference",
    "dockdoctor.model",
    "dockdoctor.codec",
    "dockdoctor.checks",
    "dockdoctor.render",
    "dockdoctor.docs",
    "dockdoctor.app",
    "dockdoctor.redact",
    "dockdoctor.schema",
    "dockdoctor.bundle",
    "dockdoctor.project",
    "dockdoctor.config",
    "dockdoctor.fixes.plan",
)
BANNED_IMPORTS = ("docker", "subprocess", "socket", "requests", "urllib.request", "http.client", "shutil")


def _modules() -> list[tuple[str, ast.Module]]:
    out = []
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(PKG.parent).with_suffix("")
        name = ".".join(p for p in rel.parts if p != "__init__")
        out.append((name, ast.parse(path.read_text(), filename=str(path))))
    return out


def _imports(tree: ast.Module) -> list[str]:
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def _rule(name: str) -> tuple[str, ...]:
    key = max((k for k in ALLOWED if name == k or name.startswith(k + ".")), key=len)
    return ALLOWED[key]


@pytest.mark.parametrize(("name", "tree"), _modules(), ids=lambda v: v if isinstance(v, str) else "")
def test_imports_go_downward(name: str, tree: ast.Module) -> None:
    allowed = _rule(name)
    for imported in _imports(tree):
        if not imported.startswith("dockdoctor") or imported == name:
            continue
        assert any(imported == a or imported.startswith(a + ".") for a in allowed), f"{name} may not import {imported}"


@pytest.mark.parametrize(
    ("name", "tree"), [m for m in _modules() if m[0].startswith(PURE)], ids=lambda v: v if isinstance(v, str) else ""
)
def test_pure_modules_do_not_touch_the_system(name: str, tree: ast.Module) -> None:
    for imported in _imports(tree):
        assert imported.split(".")[0] not in BANNED_IMPORTS and imported not in BANNED_IMPORTS, (
            f"{name} imports {imported}"
        )
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id != "open", f"{name} calls open()"
        if isinstance(node, ast.Attribute) and node.attr == "environ":
            raise AssertionError(f"{name} reads os.environ")


def test_every_module_has_a_docstring() -> None:
    for name, tree in _modules():
        assert ast.get_docstring(tree), f"{name} has no module docstring"
