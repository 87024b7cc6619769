"""The four packages import one way: generators <- benchmark <- baselines, leaderboard.

Every source file is parsed (``ast``); an import of a package above the file's own layer,
or of a sibling on the same layer, fails the test with the file, the line and the import.
Only the command entry modules in ENTRY_POINTS may reach up, and only inside a function
(so importing the module itself never loads an upper layer). Imports by name through
``importlib.import_module`` / ``find_spec`` / ``__import__`` count as imports.
"""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = {"generators": 0, "benchmark": 1, "baselines": 2, "leaderboard": 2}
ENTRY_POINTS = {"benchmark/cli.py"}
DYNAMIC_IMPORTS = {"import_module", "find_spec", "__import__"}


def imported_names(tree):
    """(line, module name, inside a function) of every absolute import in ``tree``."""
    found = []

    def visit(node, in_function):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name, in_function) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module, in_function))
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name in DYNAMIC_IMPORTS:
                found.append((node.lineno, node.args[0].value, in_function))
        nested = in_function or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        for child in ast.iter_child_nodes(node):
            visit(child, nested)

    visit(tree, False)
    return found


def violations(relpath, source, entry_points=ENTRY_POINTS):
    """One line per forbidden import of the module at ``relpath`` (e.g. 'benchmark/x.py')."""
    own = Path(relpath).parts[0]
    out = []
    for line, name, in_function in imported_names(ast.parse(source, filename=relpath)):
        target = name.split(".")[0]
        if target == own or target not in LAYERS:
            continue
        if LAYERS[target] < LAYERS[own]:
            continue
        if LAYERS[target] > LAYERS[own] and in_function and relpath in entry_points:
            continue
        where = "above" if LAYERS[target] > LAYERS[own] else "beside"
        out.append(f"{relpath}:{line} imports {name} ({target} is {where} {own}"
                   f"{'' if relpath in entry_points else '; only ' + ', '.join(sorted(entry_points)) + ' may reach up, inside a function'})")
    return out


def source_files():
    for package in LAYERS:
        yield from sorted((ROOT / package).rglob("*.py"))


def test_no_module_imports_a_layer_above_its_own():
    problems = []
    for path in source_files():
        relpath = path.relative_to(ROOT).as_posix()
        problems += violations(relpath, path.read_text())
    assert not problems, "imports against the layer order:\n" + "\n".join(problems)


def test_every_package_is_checked():
    files = {p.relative_to(ROOT).parts[0] for p in source_files()}
    assert files == set(LAYERS)
    assert all((ROOT / entry).is_file() for entry in ENTRY_POINTS)


@pytest.mark.parametrize("relpath, source, bad", [
    ("benchmark/outputs.py", "from leaderboard import results\n", True),
    ("benchmark/outputs.py", "import leaderboard.board as lb\n", True),
    ("generators/engine.py", "def f():\n    from benchmark import suite\n", True),
    ("benchmark/training/loop.py", "def f():\n    import baselines\n", True),
    ("benchmark/contract.py", "import importlib\nimportlib.import_module('baselines')\n", True),
    ("baselines/common.py", "from leaderboard import board\n", True),       # siblings stay apart
    ("benchmark/cli.py", "from leaderboard.board import submit\n", True),   # entry point, but at module level
    ("benchmark/cli.py", "def submit():\n    from leaderboard.board import submit\n", False),
    ("baselines/common.py", "from benchmark import taskinfo\n", False),
    ("leaderboard/board.py", "from benchmark import results\nfrom generators.atomic import replacing\n", False),
    ("benchmark/suite/__init__.py", "from .spec import TaskSpec\nfrom ..errors import HarnessError\n", False),
])
def test_the_checker_flags_upward_and_sideways_imports(relpath, source, bad):
    assert bool(violations(relpath, source)) == bad
