"""The house's layers as a contract: operations, conventions and extraction never reach the lifecycle.

``operations/``, ``conventions/`` and the extraction modules describe a call; ``_call`` and
``_instrument`` run one, ``_tracing`` is the application's own spans, ``_setup`` and the backends set
up export. The describing side must never import the running or setting-up side, directly, through
another arktrace module, or lazily inside a function (a lazy import hides the back-reference from a
reader and from an import cycle check alike). Read from the source with ``ast``: no new dependency,
and nothing is imported to check it.
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import arktrace
from arktrace import operations
from arktrace.operations import Operation

PACKAGE_DIR = Path(arktrace.__file__).parent

# Modules that describe a call (module names, or package prefixes ending in ".").
DESCRIBING = ("arktrace.operations.", "arktrace.conventions.", "arktrace._extract", "arktrace._content")
# What they must never import: the lifecycle, arktrace.trace, set-up and the backends (today's module
# and the package it becomes), and the package itself, whose __init__ imports all of those.
FORBIDDEN = (
    "arktrace",
    "arktrace._call",
    "arktrace._instrument",
    "arktrace._tracing",
    "arktrace._setup",
    "arktrace._backends",
    "arktrace.backends",
)


def _module_names(package_dir: Path) -> dict[str, Path]:
    root = package_dir.parent
    modules = {}
    for path in package_dir.rglob("*.py"):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


class _Imports(ast.NodeVisitor):
    """Every arktrace module a module imports, with the line and whether it is inside a function."""

    def __init__(self, name: str, is_package: bool, modules: dict[str, Path]) -> None:
        self.package = name if is_package else name.rpartition(".")[0]
        self.modules = modules
        self.depth = 0
        self.found: list[tuple[str, int, bool]] = []

    def _add(self, target: str, node: ast.AST) -> None:
        if target == "arktrace" or target.startswith("arktrace."):
            self.found.append((target, node.lineno, self.depth > 0))  # type: ignore[attr-defined]

    def _function(self, node: ast.AST) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            base = self.package
            for _ in range(node.level - 1):
                base = base.rpartition(".")[0]
            base = f"{base}.{node.module}" if node.module else base
        else:
            base = node.module or ""
        for alias in node.names:
            submodule = f"{base}.{alias.name}"
            # `from .. import _content` imports a module; `from .. import trace` the package's name
            self._add(submodule if submodule in self.modules else base, node)


def _forbidden(target: str) -> bool:
    # "arktrace" itself exactly (its submodules are judged one by one), the others with their submodules
    return any(target == name or (name != "arktrace" and target.startswith(name + ".")) for name in FORBIDDEN)


def _describing(name: str) -> bool:
    return any(name == prefix.rstrip(".") or name.startswith(prefix) for prefix in DESCRIBING)


def violations(package_dir: Path) -> list[str]:
    """Each describing module's path to a forbidden module, direct or through other arktrace modules."""
    modules = _module_names(package_dir)
    graph: dict[str, list[tuple[str, int, bool]]] = {}
    for name, path in modules.items():
        visitor = _Imports(name, path.name == "__init__.py", modules)
        visitor.visit(ast.parse(path.read_text(encoding="utf-8"), str(path)))
        graph[name] = visitor.found
    found = []
    for start in sorted(modules):
        if not _describing(start):
            continue
        seen = {start}
        queue: list[tuple[str, list[str]]] = [(start, [start])]
        while queue:
            name, chain = queue.pop(0)
            for target, line, lazy in graph.get(name, ()):
                step = f"{target} (line {line}{', inside a function' if lazy else ''})"
                if _forbidden(target):
                    found.append(" -> ".join([*chain, step]))
                elif target in modules and target not in seen:
                    seen.add(target)
                    queue.append((target, [*chain, step]))
    return found


def test_describing_modules_never_reach_the_lifecycle_setup_or_backends():
    assert violations(PACKAGE_DIR) == []


def test_the_check_sees_direct_indirect_and_lazy_back_references(tmp_path):
    package = tmp_path / "arktrace"
    for name in ("__init__.py", "_call.py", "_content.py", "_helper.py", "_setup.py"):
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        (package / name).write_text("")
    (package / "operations").mkdir()
    (package / "operations" / "__init__.py").write_text("from . import chat\n")
    (package / "operations" / "chat.py").write_text("from .._content import x\n")  # allowed
    assert violations(package) == []

    (package / "operations" / "direct.py").write_text("from .._call import Call\n")
    (package / "operations" / "lazy.py").write_text("def f():\n    from .. import _setup\n")
    (package / "operations" / "indirect.py").write_text("import arktrace._helper\n")
    (package / "_helper.py").write_text("from ._call import Call\n")
    (package / "conventions").mkdir()
    (package / "conventions" / "names.py").write_text("from arktrace import trace\n")  # the package
    found = violations(package)
    assert any(v.startswith("arktrace.operations.direct -> arktrace._call (line 1)") for v in found), found
    lazy = "arktrace.operations.lazy -> arktrace._setup (line 2, inside a function)"
    assert lazy in found, found
    assert any(v.startswith("arktrace.operations.indirect -> arktrace._helper") for v in found), found
    assert any(v.startswith("arktrace.conventions.names -> arktrace (line 1)") for v in found), found


# The lifecycle and the modules it imports read instrument()'s state through `_recorder`, imported at
# the top; `_tracing` and `_context` once imported `_instrument` inside functions to dodge a cycle.
NO_LAZY_IMPORTS = ("arktrace._call", "arktrace._context", "arktrace._recorder", "arktrace._tracing")


def lazy_imports(package_dir: Path, names: tuple[str, ...] = NO_LAZY_IMPORTS) -> list[str]:
    modules = _module_names(package_dir)
    found = []
    for name in names:
        path = modules[name]
        visitor = _Imports(name, False, modules)
        visitor.visit(ast.parse(path.read_text(encoding="utf-8"), str(path)))
        found += [f"{name} -> {target} (line {line})" for target, line, lazy in visitor.found if lazy]
    return found


def test_the_lifecycle_imports_arktrace_modules_at_the_top_only():
    assert lazy_imports(PACKAGE_DIR) == []


# The lifecycle and the extraction read what an operation declares; none of them names one, so adding
# an operation (a module in operations/) touches none of them.
GENERIC = ("arktrace._call", "arktrace._instrument", "arktrace._extract", "arktrace._attributes")
OPERATION_OBJECTS = frozenset(
    name for name, value in vars(operations).items() if isinstance(value, Operation)
)


def operations_named(package_dir: Path, names: tuple[str, ...] = GENERIC) -> list[str]:
    modules = _module_names(package_dir)
    # operations/chat.py and the like; not the registry, nor the shared _common.py and _errors.py
    one_operation = {n for n in modules if n.startswith("arktrace.operations.") and "._" not in n}
    found = []
    for name in names:
        path = modules[name]
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        visitor = _Imports(name, False, modules)
        visitor.visit(tree)
        found += [
            f"{name} imports {target} (line {line})"
            for target, line, _ in visitor.found
            if target in one_operation
        ]
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                found += [
                    f"{name} imports {alias.name} (line {node.lineno})"
                    for alias in node.names
                    if alias.name in OPERATION_OBJECTS
                ]
    return found


def test_the_lifecycle_and_extraction_name_no_operation(tmp_path):
    assert {"CHAT", "EMBEDDINGS", "RESPONSES", "TEXT_COMPLETION"} <= OPERATION_OBJECTS
    assert operations_named(PACKAGE_DIR) == []

    copy = tmp_path / "arktrace"
    shutil.copytree(PACKAGE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    call = copy / "_call.py"
    call.write_text(
        call.read_text(encoding="utf-8")
        + "from .operations import EMBEDDINGS\nfrom .operations import chat\n"
    )
    found = operations_named(copy)
    assert len(found) == 2 and "arktrace.operations.chat" in found[0] and "EMBEDDINGS" in found[1], found
