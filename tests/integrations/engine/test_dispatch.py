"""Dispatch is the only module that touches Celery tasks (decision 0008): the engine reaches
them through it, at call time, so the integrations' modules import each other without a cycle."""

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def parsed_modules() -> dict[str, ast.Module]:
    found = {}
    for path in sorted((ROOT / "integrations").rglob("*.py")):
        if "migrations" not in path.parts:
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            found[name] = ast.parse(path.read_text(), filename=str(path))
    return found


def at_import_time(tree: ast.Module) -> Iterator[ast.AST]:
    """Every node that runs when the module is imported: function bodies and `if TYPE_CHECKING:` are left out."""
    stack: list[ast.AST] = list(tree.body)
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING"):
            stack.extend(node.orelse)
        elif not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            stack.extend(ast.iter_child_nodes(node))


def imported(nodes) -> set[str]:
    names: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def a_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> list[str] | None:
        if name in path:
            return [*path[path.index(name) :], name]
        if name in done:
            return None
        for imported_name in sorted(graph[name]):
            if cycle := visit(imported_name, [*path, name]):
                return cycle
        done.add(name)
        return None

    return next((cycle for name in sorted(graph) if (cycle := visit(name, []))), None)


def test_only_dispatch_imports_the_tasks():
    modules = parsed_modules()

    importers = {name for name, tree in modules.items() if "integrations.tasks" in imported(ast.walk(tree))}

    assert importers == {"integrations.engine.dispatch"}


def test_the_integrations_modules_import_each_other_without_a_cycle():
    modules = parsed_modules()
    graph = {name: (imported(at_import_time(tree)) & modules.keys()) - {name} for name, tree in modules.items()}

    assert a_cycle(graph) is None
