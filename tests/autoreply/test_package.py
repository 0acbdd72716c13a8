"""directory.autoreply as a whole: pure domain code, one e-mail rule, and what it exports."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from directory import autoreply, contacts
from directory.autoreply import check, facts, render

PACKAGE = Path(autoreply.__file__).parent
MODULES = sorted(PACKAGE.glob("*.py"))


def imported_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    return imported | {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}


def test_module_is_pure_domain_code() -> None:
    assert [path.name for path in MODULES] == [
        "__init__.py", "blocks.py", "check.py", "default_reply.py", "facts.py", "render.py", "sandbox.py",
        "variables.py"]
    imported = set().union(*map(imported_names, MODULES))

    # directory.contacts is pure too: the one e-mail and phone rule; directory.vocabulary is plain
    # data: the wording of each booking method, contact kind and notice level (issue 11)
    assert not {name for name in imported if name.split(".")[0] in {"flask", "sqlalchemy", "directory"}
                and not name.startswith("directory.autoreply")} - {"directory.contacts", "directory.vocabulary"}
    assert "flask" not in Path(contacts.__file__).read_text(encoding="utf-8")


def test_the_sandbox_stands_on_its_own() -> None:
    """Reviewing the sandbox means reading one module: it needs only the names it may give."""
    assert {name for name in imported_names(PACKAGE / "sandbox.py") if name.startswith("directory")} == {
        "directory.autoreply.variables"}


def test_no_second_address_rule() -> None:
    """Addresses are matched and checked by directory.contacts alone: no pattern in the package
    describes an e-mail address."""
    patterns = []
    for path in MODULES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "re"
                    and node.args and isinstance(node.args[0], ast.Constant)):
                patterns.append(node.args[0].value)
    assert patterns  # the walk finds the package's patterns
    assert [p for p in patterns if "@" in p] == []
    for name in ("ADDRESS_RE", "normalize_address", "email_problem"):
        assert not hasattr(autoreply, name)
    assert not re.search(r"[\"']@[\"'] in ", "".join(path.read_text(encoding="utf-8") for path in MODULES))


def test_the_package_exports_what_callers_use() -> None:
    assert sorted(autoreply.__all__) == [
        "AutoReply", "ReplyFacts", "SAMPLE_FACTS", "check_template", "render_auto_reply"]
    assert autoreply.render_auto_reply is render.render_auto_reply
    assert autoreply.check_template is check.check_template
    assert (autoreply.ReplyFacts, autoreply.AutoReply, autoreply.SAMPLE_FACTS) == (
        facts.ReplyFacts, facts.AutoReply, facts.SAMPLE_FACTS)
