"""The shape of the code (issue 14): layers, no import cycles, no hidden imports, modules of one screen.

The module graph is computed here from the source's AST, independently of import-linter, so a cycle inside
one app (which the layers contract cannot see) fails too.
"""

import ast
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("apps", "runbooks_site")
MAX_MODULE_LINES = 400


def _python_files(*, include_tests: bool = False) -> list[Path]:
    roots = [ROOT / name for name in PACKAGES] + ([ROOT / "tests", ROOT / "bench"] if include_tests else [])
    return sorted(
        path
        for root in roots
        for path in root.rglob("*.py")
        if "migrations" not in path.relative_to(ROOT).parts and ".venv" not in path.parts
    )


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imported_names(node: ast.Import | ast.ImportFrom, *, module: str, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        package = module.split(".") if is_package else module.split(".")[:-1]
        anchor = package[: len(package) - node.level + 1]
        base = ".".join([*anchor, base] if base else anchor)
    # `from package import module` imports the module; `from module import name` imports the module.
    return [f"{base}.{alias.name}" for alias in node.names] + [base]


def module_graph() -> dict[str, set[str]]:
    """Module → the project modules it imports anywhere (module level or inside functions)."""
    paths = {_module_name(path): path for path in _python_files()}
    graph: dict[str, set[str]] = defaultdict(set)
    for module, path in paths.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            for name in _imported_names(node, module=module, is_package=path.name == "__init__.py"):
                while name and name not in paths:
                    name = name.rpartition(".")[0]
                # A package's __init__ importing its own submodules is not a cycle of behaviour.
                if name and name != module and not name.startswith(module + "."):
                    graph[module].add(name)
        graph.setdefault(module, set())
    return graph


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative: the components with more than one module are the import cycles."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))
    return cycles


def test_the_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert strongly_connected(graph) == [["a", "b", "c"]]
    assert strongly_connected({"a": {"b"}, "b": set()}) == []


def test_no_module_import_cycles():
    cycles = strongly_connected(module_graph())
    assert cycles == [], "import cycles between modules:\n" + "\n".join(" ↔ ".join(c) for c in cycles)


def _is_import(line: str) -> bool:
    return line.strip().startswith(("from ", "import "))


def _explained(lines: list[str], lineno: int) -> bool:
    """A comment on the import's line, or just above the group of imports it belongs to (a group's sections,
    standard library, third party, ours, are apart by a blank line)."""
    if "#" in lines[lineno - 1]:
        return True
    above = lineno - 2
    while above >= 0 and (
        _is_import(lines[above]) or (above > 0 and not lines[above].strip() and _is_import(lines[above - 1]))
    ):
        above -= 1
    return above >= 0 and lines[above].strip().startswith("#")


def _function_level_imports(path: Path) -> list[int]:
    source = path.read_text()
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source, filename=str(path))):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for inner in ast.walk(node):
            if isinstance(inner, ast.Import | ast.ImportFrom) and not _explained(lines, inner.lineno):
                found.append(inner.lineno)
    return sorted(set(found))


def test_a_comment_above_an_import_group_explains_all_its_sections():
    lines = [
        "def f():",
        "    # Imported after django.setup().",
        "    from django.contrib.auth import get_user_model",
        "",
        "    from apps.runbooks.models import Runbook",
        "",
        "    x = 1",
        "    from apps.runbooks.versions import runbook_publish",
    ]
    assert _explained(lines, 3) and _explained(lines, 5)
    assert not _explained(lines, 8)


def test_function_level_imports_say_why():
    unexplained = {
        str(path.relative_to(ROOT)): lines
        for path in _python_files(include_tests=True)
        if (lines := _function_level_imports(path))
    }
    assert unexplained == {}, "function-level imports without a comment saying why:\n" + "\n".join(
        f"{path}: lines {lines}" for path, lines in unexplained.items()
    )


def test_no_module_is_longer_than_one_screen():
    long = {
        str(path.relative_to(ROOT)): count
        for path in _python_files(include_tests=True)
        if (count := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}, f"modules over {MAX_MODULE_LINES} lines:\n" + "\n".join(
        f"{path}: {count}" for path, count in long.items()
    )


@pytest.mark.timeout(600)
def test_the_layers_contract_holds():
    # import-linter reads [tool.importlinter] in pyproject.toml: each app imports only the apps below it.
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint_imports)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    report = result.stdout.partition("Broken contracts")[2] or result.stdout[-4000:]
    assert result.returncode == 0, report + result.stderr[-2000:]
