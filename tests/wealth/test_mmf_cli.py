"""`puhui wealth eod` and `puhui wealth load-yields` through the real CLI, on SQLite."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from typer.testing import CliRunner

from puhui.cli import app
from puhui.db import create_engine_from_url
from puhui.db.migrate import upgrade

from .mmf_world import over


def test_eod_and_figures_file_through_the_cli(clock) -> None:  # type: ignore[no-untyped-def]
    directory = tempfile.mkdtemp(prefix="puhui-wealth-cli-")
    try:
        url = f"sqlite:///{os.path.join(directory, 'w.db')}"
        upgrade(create_engine_from_url(url))
        runner = CliRunner()
        good = Path(directory, "good.csv")
        good.write_text("fund_code,date,income_per_10k\nPH0001,2026-01-05,0.5123\n", encoding="utf-8")
        bad = Path(directory, "bad.csv")
        bad.write_text(
            "fund_code,date,income_per_10k\nPH0001,2026-01-04,0.5\nPH0001,2026-01-03,-0.2\n", encoding="utf-8"
        )
        refused = runner.invoke(app, ["wealth", "load-yields", str(bad), "--db", url])
        assert refused.exit_code == 2 and "invalid_fund_figures" in refused.output
        loaded = runner.invoke(app, ["wealth", "load-yields", str(good), "--db", url])
        assert loaded.exit_code == 0, loaded.output
        assert json.loads(loaded.output) == {"loaded": 1}
        today = runner.invoke(app, ["wealth", "eod", "--date", "2026-01-05", "--db", url])  # 09:30, in progress
        assert today.exit_code == 2 and today.output.startswith("business_date_not_over: "), today.output
        clock.set(over("2026-01-05"))  # the day is over: its end of day runs
        first = runner.invoke(app, ["wealth", "eod", "--date", "2026-01-05", "--db", url])
        assert first.exit_code == 0, first.output
        [run] = json.loads(first.output)["money_market"]
        assert "funds" in json.loads(first.output)  # the distributed funds' batch runs with it
        assert run["income_per_10k"] == "0.5123" and run["already_done"] is False  # the loaded figure is used
        second = runner.invoke(app, ["wealth", "eod", "--date", "2026-01-05", "--db", url])
        assert json.loads(second.output)["money_market"][0]["already_done"] is True
        for date, code in (
            ("2026-01-06", "business_date_not_over"),  # today
            ("2026-01-07", "business_date_in_future"),
            ("2026/01/05", "date_invalid"),
            ("2026-01-04", "business_date_closed"),
        ):  # the last: before the last date run
            refused = runner.invoke(app, ["wealth", "eod", "--date", date, "--db", url])
            assert refused.exit_code == 2 and refused.output.startswith(f"{code}: "), refused.output
            assert len(refused.output.strip().splitlines()) == 1
        audit = runner.invoke(app, ["audit", "--db", url])
        assert audit.exit_code == 0, audit.output
    finally:
        shutil.rmtree(directory, ignore_errors=True)
