"""The server runs the monitor: with monitoring on, `create_app` follows the outbox in the
background and its stored offset reaches the newest event without anyone calling it."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from puhui.app import create_app
from puhui.db import reading
from puhui.events.outbox import consumer_offset, read_events
from puhui.regtech.monitor import CONSUMER
from puhui.settings import Settings
from tests.payments.test_settlement import INDEX_KEY, K1, make_customer


def test_the_server_follows_the_outbox_with_the_monitor(engine, clock):
    settings = Settings(
        admin_token="test-admin-token",
        pii_keys=f"k1:{K1}",
        pii_index_key=INDEX_KEY,
        jwt_secret="j" * 48,
        monitoring=True,
        monitor_interval_seconds=0.05,
    )
    with TestClient(create_app(engine, settings, run_expiry=False)) as client:
        make_customer(client, engine, "13812345678", "531", 1_000_00)
        newest = read_events(engine, after=0, limit=10_000)[-1].position
        deadline = time.monotonic() + 10
        while True:
            with reading(engine) as connection:
                if consumer_offset(connection, CONSUMER) >= newest:
                    break
            assert time.monotonic() < deadline, "the monitor did not follow the outbox"
            time.sleep(0.05)
