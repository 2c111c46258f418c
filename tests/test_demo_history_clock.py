"""The demo people's past lies in China-time shopping hours on its planned dates, in the sandbox too.

A new user's demo, started at 16:26 in Beijing, moved its sandbox clock 17:04 ahead to the next morning's
open (`demo_market.start_the_day`). The past was seeded on a ManualClock set in platform time, and the
seeding app, in the sandbox, took that clock for the wall clock and added the offset again: twelve weeks of
payments at 02:00–05:00 China time and top-ups at 03:04, each a day late, and risk control learnt the demo
people as night-time shoppers. Here the past is seeded as the server seeds it (sandbox on, the clock moved)
and read back through the customer's own statement (`GET /v1/wallets/me/transactions`).
"""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient

from puhui import clock
from puhui.app import create_app
from puhui.db import reading
from puhui.demo import seed_demo_people
from puhui.demo_history import HOURS, TOP_UP, in_the_past, purchases, top_up_at, top_up_days
from puhui.demo_market import start_the_day
from puhui.identity.service import with_demo_secrets
from puhui.sandbox import service as sandbox
from puhui.settings import Settings

THURSDAY = dt.date(2026, 12, 3)
WALL = dt.datetime.combine(THURSDAY, dt.time(16, 26), tzinfo=clock.CHINA)  # after the market closed
OFFSET = dt.timedelta(hours=17, minutes=4)  # to Friday's open, 09:30


def _settings() -> Settings:
    return with_demo_secrets(Settings(sandbox=True, fraud_checks=False, monitoring=False, merchant_notifications=False))


def _moved_sandbox(engine) -> clock.ManualClock:
    """The wall clock at 16:26 on Thursday, the sandbox clock moved to Friday's open and installed."""
    wall = clock.ManualClock(WALL)
    clock.install(wall)
    assert start_the_day(engine) is not None
    with reading(engine) as connection:
        assert sandbox.read_offset(connection) == OFFSET
    return wall


def test_the_seeding_app_takes_the_past_clock_as_platform_time(engine):
    previous = clock.current()
    try:
        _moved_sandbox(engine)
        past = clock.ManualClock(dt.datetime.combine(dt.date(2026, 9, 1), dt.time(12, 15), tzinfo=clock.CHINA))
        with in_the_past(engine, past), TestClient(create_app(engine, _settings(), run_expiry=False)):
            assert clock.now() == past.now()  # not 17:04 later: the offset is in the past's reading already
            past.advance(minutes=5)
            assert clock.now() == past.now()
        assert clock.now() == WALL + OFFSET  # the platform clock is back after the past
    finally:
        clock.install(previous)


def _statement(client, me: dict) -> list[dict]:
    lines, before = [], None
    while True:
        params = {"limit": 100, **({"before": before} if before is not None else {})}
        page = client.get("/v1/wallets/me/transactions", headers=me, params=params)
        assert page.status_code == 200, page.text
        lines += page.json()["transactions"]
        if (before := page.json()["next_before"]) is None:
            return lines


def _china(at: str) -> dt.datetime:
    return dt.datetime.fromisoformat(at).astimezone(clock.CHINA)


def test_the_past_is_seeded_in_the_shopping_hours_on_its_dates_in_the_sandbox(engine):
    previous = clock.current()
    try:
        _moved_sandbox(engine)
        until = clock.business_date()
        assert until == dt.date(2026, 12, 4)
        settings = _settings()
        world = seed_demo_people(engine, settings, until)
        planned = purchases(until, len(world.customers), len(world.merchants))
        assert world.history == len(planned)
        assert clock.now() == WALL + OFFSET  # the seeding left the platform clock as it found it
        with TestClient(create_app(engine, settings, run_expiry=False)) as client:
            for person, customer in enumerate(world.customers):
                login = {"phone": customer["phone"], "password": customer["password"]}
                me = {"Authorization": f"Bearer {client.post('/v1/customers/login', json=login).json()['token']}"}
                lines = _statement(client, me)
                paid = sorted(_china(t["at"]) for t in lines if t["kind"] == "qr_payment")
                assert paid == [p.at for p in planned if p.person == person], customer["name"]
                assert all(at.hour in HOURS and at.date() < until for at in paid)
                ups = sorted(_china(t["at"]) for t in lines if t["kind"] == "top_up" and t["amount"] == TOP_UP)
                assert [at.date() for at in ups] == top_up_days(until), customer["name"]
                assert all(top_up_at(at.date()) <= at < top_up_at(at.date()) + dt.timedelta(minutes=5) for at in ups)
    finally:
        clock.install(previous)
