"""The package's shape: no import cycles, lazy sibling imports only with a reason, small modules,
only the CLI prints, one logger per module named after it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "pipeline"
MAX_LINES = 420


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PKG.rglob("*.py")):
        parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _imports(path: Path) -> list[tuple[str, int, bool]]:
    """(imported pipeline module, line, inside a function?) for every import of the package."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []

    def visit(node: ast.AST, in_func: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = in_func or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.ImportFrom) and child.module and child.module.startswith("pipeline"):
                for alias in child.names:
                    full = f"{child.module}.{alias.name}"
                    found.append((full if full in MODULES else child.module, child.lineno, in_func))
            elif isinstance(child, ast.Import):
                found.extend((a.name, child.lineno, in_func) for a in child.names if a.name.startswith("pipeline"))
            visit(child, inner)

    visit(tree, False)
    return found


def test_every_import_names_a_module_of_the_package():
    for path in MODULES.values():
        for target, line, _ in _imports(path):
            assert target in MODULES, f"{path}:{line}: imports unknown module {target}"


def test_no_import_cycles_counting_lazy_imports():
    graph = {m: {t for t, _, _ in _imports(p) if t != m} for m, p in MODULES.items()}
    # importing a submodule imports its packages too
    for m in list(graph):
        parts = m.split(".")
        for i in range(1, len(parts)):
            parent = ".".join(parts[:i])
            if parent in graph and parent != m:
                graph[m].add(parent)
    state: dict[str, int] = {}
    stack: list[str] = []

    def dfs(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for t in sorted(graph.get(m, ())):
            if t.startswith(m + "."):
                continue  # a package importing its own submodule is not a cycle through the package
            if state.get(t) == 1:
                cycle = stack[stack.index(t):] + [t]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if t not in state:
                dfs(t)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            dfs(m)


def test_sibling_imports_inside_functions_say_why():
    """Lazy imports of the package's own modules are only for deferring heavy libraries, with a reason."""
    for mod, path in MODULES.items():
        if mod.startswith("pipeline.cli"):
            continue  # commands import their stage when run: `--help` stays fast
        lines = path.read_text(encoding="utf-8").splitlines()
        for target, line, in_func in _imports(path):
            if in_func:
                assert "# lazy:" in lines[line - 1], f"{path}:{line}: function-level import of {target} without '# lazy: why'"


@pytest.mark.parametrize("mod", sorted(MODULES))
def test_module_is_small_documented_and_logs_under_its_name(mod):
    path = MODULES[mod]
    text = path.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= MAX_LINES, f"{path}: {len(text.splitlines())} lines (split it by job)"
    tree = ast.parse(text)
    if mod != "pipeline.__main__":
        assert ast.get_docstring(tree), f"{path}: no module docstring saying its role"
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
    if not mod.startswith("pipeline.cli"):
        printing = [n.lineno for n in calls if isinstance(n.func, ast.Name) and n.func.id == "print"]
        assert not printing, f"{path}:{printing[0]}: only pipeline.cli prints; log instead"
    for n in calls:
        if isinstance(n.func, ast.Attribute) and n.func.attr == "getLogger":
            assert [ast.unparse(a) for a in n.args] == ["__name__"], f"{path}:{n.lineno}: getLogger(__name__) only"


def test_every_subpackage_is_in_the_wheel():
    import tomllib

    listed = set(tomllib.loads((PKG.parent / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"])
    subpackages = {".".join(p.parent.relative_to(PKG.parent).parts) for p in PKG.rglob("__init__.py")}
    assert subpackages <= listed, f"add to [tool.setuptools] packages in pyproject.toml: {sorted(subpackages - listed)}"


def test_no_bare_assert_in_the_package():
    """Asserts vanish under ``python -O`` and give no message a user can act on."""
    for path in MODULES.values():
        found = [n.lineno for n in ast.walk(ast.parse(path.read_text(encoding="utf-8"))) if isinstance(n, ast.Assert)]
        assert not found, f"{path}:{found[0]}: raise an error from pipeline.errors instead of assert"
