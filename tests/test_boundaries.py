"""Package boundaries (issue 13): the ledger owns its tables; other packages read balances through
`puhui.ledger.queries` and move money through `puhui.ledger.service` / `puhui.ledger.bulk`. Checked
three ways: the import-linter contracts in pyproject.toml, an import scan that needs no tool, and a
scan of SQL text for the ledger's table names outside the ledger."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "puhui"
LEDGER_TABLES = ("ledgers", "account_codes", "accounts", "transfers")
RAW_SQL = re.compile(rf"\b(FROM|JOIN|INTO|UPDATE)\s+({'|'.join(LEDGER_TABLES)})\b", re.IGNORECASE)
# Migrations are the history of the ledger's own schema. Benchmarks seed through
# `puhui.ledger.seed` and time their raw-SQL baselines on scratch copies of the ledger's tables.
ALLOWED = ("ledger/", "db/migrations/")


def modules() -> list[tuple[str, ast.Module]]:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC).as_posix()
        found.append((relative, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))))
    return found


def imported(tree: ast.Module) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


def test_no_module_outside_the_ledger_imports_its_tables():
    offenders = [
        path for path, tree in modules() if not path.startswith(ALLOWED) and "puhui.ledger.tables" in imported(tree)
    ]
    assert offenders == []
    db_tables = ast.parse((SRC / "db" / "tables.py").read_text(encoding="utf-8"))
    defined = {
        t.id
        for node in ast.walk(db_tables)
        if isinstance(node, ast.Assign)
        for t in node.targets
        if isinstance(t, ast.Name)
    }
    assert not defined & set(LEDGER_TABLES), "the ledger's tables are defined in puhui.ledger.tables only"


def test_no_sql_outside_the_ledger_names_its_tables():
    offenders = []
    for path, tree in modules():
        if path.startswith(ALLOWED):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and RAW_SQL.search(node.value):
                offenders.append(f"{path}:{node.lineno}: {RAW_SQL.search(node.value).group(0)}")
    assert offenders == []


def test_the_scans_see_an_offender():
    """The scans are not vacuous: a module written the old way is caught by both."""
    tree = ast.parse('from puhui.ledger.tables import accounts\nSQL = "UPDATE accounts SET flags = 4"\n')
    assert "puhui.ledger.tables" in imported(tree)
    assert any(
        isinstance(n, ast.Constant) and isinstance(n.value, str) and RAW_SQL.search(n.value) for n in ast.walk(tree)
    )


def test_the_import_contracts_hold():
    command = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    assert command, "import-linter is a dev dependency: pip install -e '.[dev]'"
    done = subprocess.run([command, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


def test_no_module_imports_itself_back():
    """No import cycles anywhere in puhui, not even ones hidden inside functions (five were, in
    payments, lending, regtech and identity): each strongly connected part of the import graph is one
    module."""
    import grimp
    import networkx as nx

    graph = grimp.build_graph("puhui", cache_dir=None)
    imports = nx.DiGraph((m, i) for m in graph.modules for i in graph.find_modules_directly_imported_by(m))
    cycles = [sorted(part) for part in nx.strongly_connected_components(imports) if len(part) > 1]
    assert cycles == []


BENCH = (*ALLOWED, "bench/")  # benchmarks seed and inspect whatever they measure


def test_each_package_reads_other_packages_through_their_functions():
    """A package's tables (`puhui.<pkg>.*tables`) are imported only inside that package; others use the
    owner's query functions (`puhui.<pkg>.queries`, `identity.org`, ...)."""
    offenders = []
    for path, tree in modules():
        owner = path.split("/")[0].removesuffix(".py")
        for name in imported(tree):
            parts = name.split(".")
            if (
                len(parts) >= 3
                and parts[0] == "puhui"
                and parts[-1].endswith("tables")
                and parts[1] not in (owner, "db")
                and not path.startswith(BENCH)
            ):
                offenders.append(f"{path} reads {name}")
    assert offenders == []


def test_each_error_code_names_one_error():
    """A client handles a problem by its `code`: one code, one error class (three used to share
    `insufficient_funds`)."""
    import importlib
    import inspect
    import pkgutil

    import puhui
    from puhui.errors import PuhuiError

    classes: dict[str, set[str]] = {}
    for found in pkgutil.walk_packages(puhui.__path__, "puhui."):
        if ".migrations" in found.name:
            continue
        module = importlib.import_module(found.name)
        for item in vars(module).values():
            if inspect.isclass(item) and issubclass(item, PuhuiError) and item.__module__ == module.__name__:
                classes.setdefault(item.code, set()).add(f"{item.__module__}.{item.__qualname__}")
    assert len(classes) > 150
    assert {code: names for code, names in classes.items() if len(names) > 1} == {}
