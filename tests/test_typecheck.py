"""The core type-checks strictly: mypy with the project's config (pyproject.toml [tool.mypy]) over money, clock,
errors and the ledger finds nothing. CI runs it with the rest of the suite."""

from __future__ import annotations

from pathlib import Path

import pytest

api = pytest.importorskip("mypy.api", reason="mypy comes with the dev extras")

ROOT = Path(__file__).resolve().parents[1]
CORE = [
    "src/puhui/money.py",
    "src/puhui/clock.py",
    "src/puhui/errors.py",
    "src/puhui/ledger",
    "src/puhui/insurance",
    "src/puhui/securities",
]
STRICT = [
    "puhui.money",
    "puhui.clock",
    "puhui.errors",
    "puhui.ledger",
    "puhui.ledger.*",
    "puhui.insurance.*",
    "puhui.securities.*",
]


def _run_mypy(cache: Path, *targets: str) -> tuple[str, int]:
    arguments = ["--config-file", str(ROOT / "pyproject.toml"), "--cache-dir", str(cache), "--no-error-summary"]
    stdout, stderr, status = api.run([*arguments, *(str(ROOT / t) for t in targets)])
    return stdout + stderr, status


def test_the_core_type_checks_strictly(tmp_path_factory: pytest.TempPathFactory) -> None:
    report, status = _run_mypy(tmp_path_factory.mktemp("mypy-cache"), *CORE)
    print(report)
    assert status == 0 and report.strip() == "", report


def test_the_core_is_configured_strict() -> None:
    """The strict options stay on for the core modules (a config edit cannot quietly relax them)."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mypy"]
    strict = [o for o in config["overrides"] if set(STRICT) <= set(o["module"])]
    assert strict, "no [[tool.mypy.overrides]] names the core modules"
    wanted = [
        "disallow_untyped_defs",
        "disallow_incomplete_defs",
        "disallow_any_generics",
        "disallow_untyped_calls",
        "warn_return_any",
        "no_implicit_reexport",
        "check_untyped_defs",
        "strict_equality",
    ]
    assert {name: strict[0].get(name) for name in wanted} == dict.fromkeys(wanted, True)


def test_the_check_finds_an_untyped_function(tmp_path: Path) -> None:
    """The same configuration flags what strict mode forbids, so a passing run means something."""
    package = tmp_path / "puhui" / "ledger"
    package.mkdir(parents=True)
    for init in (tmp_path / "puhui" / "__init__.py", package / "__init__.py"):
        init.write_text("", encoding="utf-8")
    (package / "sloppy.py").write_text("def post(amount):\n    return amount\n", encoding="utf-8")
    report, status = _run_mypy(tmp_path / "cache", str(package / "sloppy.py"))
    assert status == 1 and "sloppy.py:1: error" in report and "[no-untyped-def]" in report, report
