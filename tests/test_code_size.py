"""The package stays readable: no module of rgd_utils over 450 lines, no function over 60 lines
(its docstring excluded), so that each module holds one concept and each function one step."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "rgd_utils"
MAX_MODULE_LINES = 450
MAX_FUNCTION_LINES = 60


def function_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines of ``node`` from its ``def`` to its last line, less its docstring's."""
    lines = node.end_lineno - node.lineno + 1
    first = node.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
            and isinstance(first.value.value, str):
        lines -= first.end_lineno - first.lineno + 1
    return lines


def offenders(package: Path = PACKAGE) -> list[str]:
    """``"<module>: <what>"`` for every module or function of ``package`` over its limit."""
    found = []
    for path in sorted(package.rglob("*.py")):
        name = path.relative_to(package).as_posix()
        source = path.read_text(encoding="utf-8")
        if (n := len(source.splitlines())) > MAX_MODULE_LINES:
            found.append(f"{name}: {n} lines")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) \
                    and (n := function_lines(node)) > MAX_FUNCTION_LINES:
                found.append(f"{name}: {node.name} (line {node.lineno}) {n} lines")
    return found


def test_modules_and_functions_are_small() -> None:
    found = offenders()
    assert not found, "split these:\n" + "\n".join(found)


def test_the_guard_counts_lines_without_docstrings(tmp_path: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    doc = '    """A docstring\n    over\n    lines."""\n'
    (tmp_path / "ok.py").write_text(f"def ok():\n{doc}{body[: body.rfind(chr(10))]}\n")
    (tmp_path / "long.py").write_text(f"def long():\n{doc}{body}\n    return 0\n")
    (tmp_path / "big.py").write_text("x = 1\n" * (MAX_MODULE_LINES + 1))
    (tmp_path / "fits.py").write_text("x = 1\n" * MAX_MODULE_LINES)
    assert offenders(tmp_path) == ["big.py: 451 lines", "long.py: long (line 1) 62 lines"]
