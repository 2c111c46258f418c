"""After a run (模拟之后): the monitor over the outbox, the graph analytics over the run's days and
cases opened from the alerts — on a ManualClock at the run's last instant, so alerts and cases are
dated inside the simulated range. Nothing here reads the ground-truth labels."""

from __future__ import annotations

import datetime as dt
import time

from sqlalchemy import Engine

from puhui import clock
from puhui.db import transaction


def last_instant(first: dt.date, days: int) -> dt.datetime:
    """The run's last second (China time): after the last end of day, inside the last business date."""
    return clock.china_midnight(first + dt.timedelta(days=days)) - dt.timedelta(seconds=1)


def analyse(engine: Engine, first: dt.date, days: int, actor: str = "simulator") -> dict:
    from puhui.regtech.cases import open_cases_from_alerts
    from puhui.regtech.graph import run_graph_analytics
    from puhui.regtech.monitor import Monitor

    last_day = first + dt.timedelta(days=days - 1)
    span = (clock.day_bounds(first)[0], clock.day_bounds(last_day)[1])  # the run's China days, [start, end)
    with clock.using(clock.ManualClock(last_instant(first, days))):
        began = time.perf_counter()
        events, alerts = Monitor(engine).run()
        monitor_s = time.perf_counter() - began
        graph = run_graph_analytics(engine, *span)
        cases = transaction(engine, lambda uow: open_cases_from_alerts(uow, actor))
    return {
        "events": events,
        "alerts": alerts + graph["written"],
        "monitor_s": monitor_s,
        "graph_s": graph["seconds"]["total"],
        "cases": len(cases["opened"]),
    }
