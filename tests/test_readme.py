"""The README cannot drift from the code: every `puhui` command in its code blocks parses against the
real command tree (command path, options, argument counts and types), and the operations and supervision
commands run as written on a fresh database the day after their dates. The README's HTTP walk-through is
run as written by `tests/test_first_hour.py`."""

from __future__ import annotations

import datetime as dt
import json
import re
import shlex
import sys
from pathlib import Path

import pytest
from typer.main import get_command

from puhui import cli
from puhui import clock as clock_module
from puhui.db import create_engine_from_url
from puhui.db.migrate import upgrade
from puhui.identity.pii import vault_for
from puhui.identity.vault import generate_key
from puhui.settings import Settings
from puhui.sim.world import Config, simulate

README = Path(__file__).resolve().parents[1] / "README.md"
PLACEHOLDER = re.compile(r"^[A-Z][A-Z_]*(\.[a-z]+)?$")  # URL, ID, MODEL_ID, FILE.csv: the reader's own value
FILES = ("product.json", "applicant.json", "FILE.csv", "outcomes.csv")  # files the examples name
# Commands the test runs, not only parses: quick, and meaningful on a fresh database.
RUN = (
    "audit",
    "db upgrade",
    "settle",
    "reconcile",
    "lending eod",
    "supplychain mature",
    "wealth eod",
    "merchants list",
    "regtech rules",
    "regtech monitor",
    "regtech graph",
    "regtech cases",
    "regtech report",
    "regtech dashboard",
)


def readme_commands() -> list[list[str]]:
    """Every `puhui …` command in the README's code blocks, as argv after `puhui`."""
    text = README.read_text(encoding="utf-8")
    found = []
    for block in re.findall(r"```[a-z]*\n(.*?)```", text, re.S):
        for line in block.splitlines():
            for part in line.split("&&"):
                if part.strip().startswith("puhui "):
                    found.append(shlex.split(part, comments=True)[1:])
    return found


COMMANDS = readme_commands()


def test_the_readme_shows_the_commands_of_every_section():
    shown = {tuple(argv[:2]) for argv in COMMANDS}
    assert len(COMMANDS) >= 35 and ("serve", "--demo") in shown and ("lending", "eod") in shown, shown


def parse(argv: list[str]) -> None:
    """Resolve `argv` down to its command and parse its options and arguments as the CLI would."""
    command, name, context, args = get_command(cli.app), "puhui", None, list(argv)
    while hasattr(command, "resolve_command"):
        context = command.make_context(name, args, parent=context)
        rest = [*getattr(context, "_protected_args", []), *context.args]
        assert rest, f"`puhui {' '.join(argv)}` stops at the group {name}"
        name, command, args = command.resolve_command(context, rest)
    command.make_context(name, args, parent=context)


@pytest.mark.parametrize("argv", COMMANDS, ids=lambda argv: " ".join(argv))
def test_every_readme_command_parses(argv, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in FILES:
        (tmp_path / name).write_text("{}" if name.endswith(".json") else "a,b\n", encoding="utf-8")
    parse([word if not PLACEHOLDER.match(word) or "." in word else "1" for word in argv])


def runnable(argv: list[str]) -> bool:
    return any(" ".join(argv).startswith(prefix) for prefix in RUN) and not any(
        PLACEHOLDER.match(word) for word in argv
    )


def latest_date(argv: list[str]) -> dt.date:
    dates = [dt.date.fromisoformat(word) for word in argv if re.fullmatch(r"\d{4}-\d{2}-\d{2}", word)]
    return max(dates, default=dt.date(2026, 11, 28))


def test_the_operations_run_as_written(db_url, clock, tmp_path, monkeypatch, capsys):
    """On a small simulated market that ends on the README's latest date, the day after it."""
    chosen = [argv for argv in COMMANDS if runnable(argv)]
    assert len(chosen) >= 12, chosen
    last = max(latest_date(argv) for argv in chosen)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PUHUI_ENV_FILE", raising=False)
    for name, value in {
        "PUHUI_DATABASE_URL": db_url,
        "PUHUI_PII_KEYS": f"k1:{generate_key()}",
        "PUHUI_PII_INDEX_KEY": generate_key(),
    }.items():
        monkeypatch.setenv(name, value)
    engine = create_engine_from_url(db_url)
    upgrade(engine)
    days = 5
    simulate(engine, Config(40, days, seed=3, start=last - dt.timedelta(days=days - 1)), vault=vault_for(Settings()))
    engine.dispose()
    clock.set(dt.datetime.combine(last + dt.timedelta(days=1), dt.time(10), tzinfo=clock_module.CHINA))
    for argv in sorted(chosen, key=latest_date):
        monkeypatch.setattr(sys, "argv", ["puhui", *argv])
        with pytest.raises(SystemExit) as stopped:
            cli.main()
        out = capsys.readouterr()
        assert stopped.value.code == 0, f"puhui {' '.join(argv)}: {out.out}{out.err}"
        assert_money_as_decimal_strings(out.out)


MONEY = {"amount", "gross", "fees", "refunds", "net", "carried", "platform_amount", "bank_amount"}


def assert_money_as_decimal_strings(output: str) -> None:
    """A command that prints JSON prints amounts as the API does: decimal strings, never integer fen."""
    try:
        value = json.loads(output)
    except ValueError:
        return
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, inner in item.items():
                assert key not in MONEY or inner is None or isinstance(inner, str), (key, inner)
                stack.append(inner)
        elif isinstance(item, list):
            stack.extend(item)


def test_every_local_link_in_the_readme_and_docs_exists():
    """The README once cited a design document that was not in the repository."""
    root = README.parent
    for page in [README, *sorted((root / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#\s]+)[^)]*\)", page.read_text(encoding="utf-8")):
            if not re.match(r"[a-z]+:", target):
                assert (page.parent / target).exists(), f"{page.name} links to missing {target}"
    assert "docs/DESIGN.md" in README.read_text(encoding="utf-8")


def test_the_readme_counts_the_monitoring_rules_and_names_the_model_scored_by_default():
    """Regression: "the 14 monitoring rules" while `puhui regtech rules` listed 16."""
    from puhui.regtech.rules import DEFAULT_RULES
    from puhui.risk.scoring.platform import PLATFORM_MODEL

    text = README.read_text(encoding="utf-8")
    assert re.findall(r"the (\d+) monitoring rules", text) == [str(len(DEFAULT_RULES))]
    score = get_command(cli.app).commands["risk"].commands["score"]  # type: ignore[attr-defined]
    assert {p.name: p.default for p in score.params}["name"] == PLATFORM_MODEL
    block = text[text.index("puhui risk score --applicant") :].split("\npuhui ", 1)[0]
    assert PLATFORM_MODEL in block and "--name credit" in block
