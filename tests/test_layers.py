"""Layers point down (STYLE.md, issue 11): `directory/` is the domain and never imports the API;
the API and the pages use `directory/` but never each other. Checked on every module's imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# (importing module, imported module or package) pairs tolerated, each with its reason. Issue 11
# lists the ones still to fix. The team schema (TeamSchema, load_team, load_teams) lives in
# directory.schemas, so the CLI and the pages validate without the API.
ALLOWED: dict[tuple[str, str], str] = {
    ("directory.factory", "api"): "the app factory (create_app) registers the API's blueprints: allowed for good",
}
TOP_LEVEL = ("api", "directory")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> set[str]:
    """Every module `path` imports, at any depth (imports inside functions count too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            if base in TOP_LEVEL:  # `from api import schemas`, `from directory import web`
                found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def violations(source: str, imported: set[str]) -> list[str]:
    problems = []
    for name in sorted(imported):
        if any(source == s and within(name, i) for s, i in ALLOWED):
            continue
        if within(source, "directory.web") and within(name, "api"):
            problems.append(f"{source} imports {name}: the pages must not use the API layer")
        elif within(source, "directory") and within(name, "api"):
            problems.append(f"{source} imports {name}: directory/ must not use the API layer")
        elif within(source, "api") and within(name, "directory.web"):
            problems.append(f"{source} imports {name}: the API must not use the pages")
    return problems


def modules() -> list[Path]:
    return sorted(p for package in ("directory", "api") for p in (ROOT / package).rglob("*.py"))


def test_every_module_keeps_to_its_layer() -> None:
    problems = [p for path in modules() for p in violations(module_name(path), imports(path))]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(("source", "imported", "bad"), [
    ("directory.cli", {"api.teams"}, True),
    ("directory.services", {"api"}, True),
    ("api.teams", {"directory.web.present"}, True),
    ("directory.web.views", {"api.schemas"}, True),
    ("directory.web.views", {"directory.status"}, False),
    ("api.teams", {"directory.services"}, False),
    ("directory.factory", {"api"}, False),  # the app factory, allowed
    ("directory", {"api"}, True),
    ("directory.factory", {"api.schemas"}, False),
    ("directory.services", {"directory.web"}, False),
    ("api.teams", {"directory.web"}, True),
])
def test_the_check_catches_a_wrong_import(source: str, imported: set[str], bad: bool) -> None:
    assert bool(violations(source, imported)) is bad
