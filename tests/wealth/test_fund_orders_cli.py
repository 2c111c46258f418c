"""`puhui wealth load-navs` and `puhui wealth funds-eod` through the real CLI, on SQLite."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from typer.testing import CliRunner

from puhui.cli import app
from puhui.db import create_engine_from_url, transaction
from puhui.db.migrate import upgrade
from puhui.wealth.funds import orders as fo

from .mmf_world import over
from .test_fund_orders import SCHEDULE, TIERS


def test_nav_file_and_funds_end_of_day_through_the_cli(clock) -> None:  # type: ignore[no-untyped-def]
    directory = tempfile.mkdtemp(prefix="puhui-funds-cli-")
    try:
        url = f"sqlite:///{os.path.join(directory, 'f.db')}"
        engine = create_engine_from_url(url)
        upgrade(engine)
        transaction(engine, lambda uow: fo.create_product(uow, "EQ1", "普惠成长", 3, TIERS, SCHEDULE, 2))
        runner = CliRunner()
        bad = Path(directory, "bad.csv")
        bad.write_text("date,fund_code,nav\n2026-01-05,EQ1,1.0100\n2026-01-06,EQ1,-1.0000\n", encoding="utf-8")
        refused = runner.invoke(app, ["wealth", "load-navs", str(bad), "--db", url])
        assert refused.exit_code == 2 and "invalid_nav_file" in refused.output and "line 3" in refused.output
        good = Path(directory, "good.csv")
        good.write_text("date,fund_code,nav\n2026-01-05,EQ1,1.0100\n", encoding="utf-8")
        loaded = runner.invoke(app, ["wealth", "load-navs", str(good), "--db", url])
        assert loaded.exit_code == 0, loaded.output
        assert json.loads(loaded.output) == {"recorded": 1, "unchanged": 0}
        today = runner.invoke(app, ["wealth", "funds-eod", "--date", "2026-01-05", "--db", url])  # 09:30
        assert today.exit_code == 2 and today.output.startswith("business_date_not_over: "), today.output
        clock.set(over("2026-01-05"))  # the day is over: its end of day runs
        first = runner.invoke(app, ["wealth", "funds-eod", "--date", "2026-01-05", "--db", url])
        assert first.exit_code == 0 and json.loads(first.output)["already_done"] is False, first.output
        second = runner.invoke(app, ["wealth", "funds-eod", "--date", "2026-01-05", "--db", url])
        assert json.loads(second.output)["already_done"] is True
        for date, code in (
            ("2026-01-06", "business_date_not_over"),  # today
            ("2026-01-07", "business_date_in_future"),
            ("86400", "date_invalid"),
            ("2026-01-04", "business_date_closed"),
        ):  # the last: before the last date run
            refused = runner.invoke(app, ["wealth", "funds-eod", "--date", date, "--db", url])
            assert refused.exit_code == 2 and refused.output.startswith(f"{code}: "), refused.output
        assert runner.invoke(app, ["audit", "--db", url]).exit_code == 0
        engine.dispose()
    finally:
        shutil.rmtree(directory, ignore_errors=True)
