"""The shape of the code, module by module: lines, functions over 30 lines and the worst
cyclomatic complexity (ruff's McCabe count), for one tree or two trees side by side.

    python benchmarks/module_table.py                  # this checkout
    python benchmarks/module_table.py OLD_TREE [NEW]   # before and after (e.g. a `git archive` of a commit)

A restructuring should leave fewer long functions and a lower worst complexity, not only more
files; the totals row says whether the code as a whole shrank or grew.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

PACKAGES = ("directory", "api", "search")
LONG = 30
_COMPLEXITY = re.compile(r"`(?P<name>[^`]+)` is too complex \((?P<n>\d+) > 0\)")


@dataclass
class Shape:
    lines: int = 0
    long_functions: int = 0
    worst: int = 0
    worst_name: str = ""


def long_functions(tree: ast.AST) -> int:
    return sum(
        1 for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and (node.end_lineno or node.lineno) - node.lineno + 1 > LONG
    )


def complexities(root: Path) -> dict[str, tuple[int, str]]:
    """Module path -> (worst complexity, function), from ruff's C901 with the bar at zero."""
    ruff = Path(sys.executable).with_name("ruff")
    out = subprocess.run(
        [str(ruff), "check", "--no-cache", "--isolated", "--select", "C901", "--output-format", "json",
         "--config", "lint.mccabe.max-complexity=0", *PACKAGES],
        cwd=root, capture_output=True, text=True, check=False,
    ).stdout
    worst: dict[str, tuple[int, str]] = {}
    for finding in json.loads(out or "[]"):
        match = _COMPLEXITY.search(finding["message"])
        if not match:
            continue
        path = str(Path(finding["filename"]).resolve().relative_to(root.resolve()))
        n = int(match["n"])
        if n > worst.get(path, (0, ""))[0]:
            worst[path] = (n, match["name"])
    return worst


def shapes(root: Path) -> dict[str, Shape]:
    worst = complexities(root)
    table: dict[str, Shape] = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            rel = str(path.relative_to(root))
            source = path.read_text(encoding="utf-8")
            n, name = worst.get(rel, (0, ""))
            table[rel] = Shape(len(source.splitlines()), long_functions(ast.parse(source)), n, name)
    return table


def total(table: dict[str, Shape]) -> Shape:
    worst = max(table.values(), key=lambda s: s.worst, default=Shape())
    return Shape(sum(s.lines for s in table.values()), sum(s.long_functions for s in table.values()),
                 worst.worst, worst.worst_name)


def cell(shape: Shape | None) -> str:
    if shape is None:
        return f"{'—':>6} {'':>4} {'':>4}"
    return f"{shape.lines:>6} {shape.long_functions:>4} {shape.worst:>4}"


def main(argv: list[str]) -> None:
    roots = [Path(a) for a in argv] or [Path(__file__).resolve().parent.parent]
    tables = [shapes(root) for root in roots]
    names = sorted(set().union(*tables))
    header = "  ".join(f"{'lines':>6} {'>30':>4} {'cc':>4}" for _ in tables)
    print(f"{'module':<42}  {header}")
    for name in names:
        row = [t.get(name) for t in tables]
        if len(tables) == 2 and row[0] and row[1] and row[0] == row[1]:
            continue  # unchanged in shape: the table shows what moved
        print(f"{name:<42}  " + "  ".join(cell(s) for s in row))
    print(f"{'total (' + str(len(names)) + ' modules)':<42}  " + "  ".join(cell(total(t)) for t in tables))
    for root, table in zip(roots, tables, strict=True):
        t = total(table)
        print(f"{root}: worst function {t.worst_name} ({t.worst}); "
              f"{len(table)} modules, {t.long_functions} functions over {LONG} lines")


if __name__ == "__main__":
    main(sys.argv[1:])
