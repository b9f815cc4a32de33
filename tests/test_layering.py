"""The layers import downward only, and only probes (and the fix applier) touch the system."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "src" / "dockdoctor"

ROOT = "dockdoctor"  # the package itself (`from dockdoctor import __version__`): matches only itself
EVERYTHING = "dockdoctor.*"

# module prefix -> internal modules it may import: a module and its submodules (prefix match), except ROOT
ALLOWED: dict[str, tuple[str, ...]] = {
    "dockdoctor.platforms": (),
    "dockdoctor.reference": (),
    "dockdoctor.errors": (),
    "dockdoctor.knowledge": (),
    "dockdoctor.model": ("dockdoctor.model", "dockdoctor.platforms", "dockdoctor.reference", "dockdoctor.errors"),
    "dockdoctor.progress": (),
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
        "dockdoctor.files",
        "dockdoctor.project",
        "dockdoctor.tagrank",
        "dockdoctor.progress",  # a leaf: probes announce their waits (the spinner)
        "dockdoctor.config",  # pure: the user settings file is parsed as the project's is
        "dockdoctor._argv",  # the head starts read the command line before click is imported
        ROOT,
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
    "dockdoctor.app": (EVERYTHING,),
    "dockdoctor.cli": (EVERYTHING,),
    "dockdoctor.__main__": ("dockdoctor._entry",),
    "dockdoctor._entry": (EVERYTHING,),  # stdlib first; dockdoctor.cli (or .plugin) only once it must
    "dockdoctor.plugin": (EVERYTHING,),  # a part of the command line, like cli
    "dockdoctor.console": (EVERYTHING,),  # the CLI's own parts: the layer of cli, below it only main()
    # --help without click; its generator reads cli and its option types
    "dockdoctor._help": ("dockdoctor._help_text", "dockdoctor.cli", "dockdoctor.console"),
    "dockdoctor._help_text": (),
    "dockdoctor._argv": ("dockdoctor._help_text",),  # the command line as click reads it, from the kept tables
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
    "dockdoctor.fixes.consent",
    "dockdoctor.progress",
)
BANNED_IMPORTS = ("docker", "subprocess", "socket", "requests", "urllib.request", "http.client", "shutil")


def _modules() -> list[tuple[str, ast.Module]]:
    out = []
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(PKG.parent).with_suffix("")
        name = ".".join(p for p in rel.parts if p != "__init__")
        out.append((name, ast.parse(path.read_text(), filename=str(path))))
    return out


@functools.cache
def _package_modules() -> frozenset[str]:
    return frozenset(name for name, _ in _modules())


def _imports(tree: ast.Module, known: frozenset[str] = frozenset()) -> list[str]:
    """The modules a module imports; `from pkg import sub` counts as importing `pkg.sub` when that is a module."""
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            subs = [f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in known]
            names += subs if len(subs) == len(node.names) else [node.module, *subs]
    return names


def _rule(name: str) -> tuple[str, ...]:
    key = max((k for k in ALLOWED if name == k or name.startswith(k + ".")), key=len)
    return ALLOWED[key]


def _allows(entry: str, imported: str) -> bool:
    if entry == EVERYTHING:
        return imported.startswith(ROOT + ".") or imported == ROOT
    return imported == entry or (entry != ROOT and imported.startswith(entry + "."))


def _violations(name: str, tree: ast.Module, known: frozenset[str]) -> list[str]:
    allowed = _rule(name)
    return [
        f"{name} may not import {imported}"
        for imported in _imports(tree, known)
        if (imported == ROOT or imported.startswith(ROOT + "."))
        and imported != name
        and not any(_allows(a, imported) for a in allowed)
    ]


@pytest.mark.parametrize(("name", "tree"), _modules(), ids=lambda v: v if isinstance(v, str) else "")
def test_imports_go_downward(name: str, tree: ast.Module) -> None:
    assert _violations(name, tree, _package_modules()) == []


@pytest.mark.parametrize(
    "source",
    [
        "from dockdoctor.checks._verdicts import verdicts",
        "import dockdoctor.checks",
        "from dockdoctor import checks",
        "from dockdoctor import app",
        "from dockdoctor.render import text",
        "from dockdoctor.fixes.apply import Journal",
    ],
)
def test_a_probe_importing_a_higher_layer_fails(source: str) -> None:
    """The hole this closes: the root package once allowed every module to probes, by prefix."""
    tree = ast.parse(f'"""A probe."""\n\n{source}\n')
    assert _violations("dockdoctor.probes.images", tree, _package_modules()) != []


def test_a_probe_may_import_its_layer_and_below() -> None:
    tree = ast.parse(
        "from dockdoctor import __version__, tagrank\nfrom dockdoctor.model import Facts\n"
        "from dockdoctor.probes._run import run\nfrom dockdoctor.project.dockerfile import parse\n"
    )
    assert _violations("dockdoctor.probes.images", tree, _package_modules()) == []


# Check modules (DKDnnn functions) share code only through the pure helper modules `dockdoctor.checks._*`:
# a check module never imports another check module (at top or inside a function), and no module in checks/
# imports a dockdoctor module inside a function (so the import graph the test above sees is the whole graph).
CATALOG = "dockdoctor.checks"  # the package: ALL_CHECKS and lookup()
CATALOG_READERS = ("dockdoctor.checks.suppressions",)  # DKD719 asks the catalog whether a suppressed name exists


def _function_imports(tree: ast.Module) -> list[str]:
    """The dockdoctor modules imported inside a function (or method) body."""
    found = []
    for func in ast.walk(tree):
        if isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
            body = ast.Module(body=func.body, type_ignores=[])
            found += [n for n in _imports(body) if n == ROOT or n.startswith(ROOT + ".")]
    return found


def _check_module_violations(name: str, tree: ast.Module, known: frozenset[str]) -> list[str]:
    if not name.startswith(CATALOG + "."):
        return []  # the catalog itself imports every check module
    out = [f"{name} imports {imported} inside a function" for imported in _function_imports(tree)]
    for imported in _imports(tree, known):
        if imported == CATALOG and name not in CATALOG_READERS:
            out.append(f"{name} may not import the catalog {CATALOG}")
        elif imported.startswith(CATALOG + ".") and not imported.split(".")[2].startswith("_"):
            out.append(f"{name} may not import the check module {imported}: share code through checks/_*.py")
    return out


@pytest.mark.parametrize(
    ("name", "tree"),
    [m for m in _modules() if m[0].startswith(CATALOG + ".")],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_check_modules_share_code_only_through_helpers(name: str, tree: ast.Module) -> None:
    assert _check_module_violations(name, tree, _package_modules()) == []


@pytest.mark.parametrize(
    ("name", "source"),
    [
        ("dockdoctor.checks.images", "def f() -> None:\n    from dockdoctor.checks._util import ev\n"),
        ("dockdoctor.checks.images", "def f() -> None:\n    from dockdoctor.knowledge import load\n"),
        ("dockdoctor.checks._verdicts", "class C:\n    def m(self) -> None:\n        import dockdoctor.platforms\n"),
        ("dockdoctor.checks.build", "from dockdoctor.checks.engine import _current_profile\n"),
        ("dockdoctor.checks.build", "from dockdoctor.checks import engine\n"),
        ("dockdoctor.checks.build", "import dockdoctor.checks.images\n"),
        ("dockdoctor.checks._compose_fixes", "from dockdoctor.checks.build import install_emulation\n"),
        ("dockdoctor.checks.kube", "from dockdoctor.checks import lookup\n"),
        ("dockdoctor.checks.suppressions", "def f() -> None:\n    from dockdoctor.checks import lookup\n"),
    ],
)
def test_a_check_module_importing_another_fails(name: str, source: str) -> None:
    tree = ast.parse(f'"""A check module."""\n\n{source}')
    assert _check_module_violations(name, tree, _package_modules()) != []


def test_a_check_module_may_import_the_helpers_at_top() -> None:
    tree = ast.parse(
        "import re\nfrom dockdoctor.checks import _tags\nfrom dockdoctor.checks._emulator import install_emulation\n"
        "from dockdoctor.knowledge import load\n\n\ndef f() -> None:\n    import json\n"
    )
    assert _check_module_violations("dockdoctor.checks.images", tree, _package_modules()) == []


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
