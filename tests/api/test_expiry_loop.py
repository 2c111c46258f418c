"""The server releases holds whose timeout has passed without anyone asking."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from puhui.app import create_app
from puhui.db import reading, transaction
from puhui.ledger import service
from puhui.ledger.audit import audit
from puhui.ledger.models import PendingStatus, Transfer, TransferFlags
from puhui.settings import Settings


def test_server_expires_overdue_holds(engine, clock):
    hold = Transfer(
        "h1",
        "platform.reserve_bank.CNY",
        "platform.suspense.CNY",
        500,
        "CNY",
        "hold",
        flags=TransferFlags.pending,
        timeout_seconds=5,
    )
    assert [r.value for r in transaction(engine, lambda uow: service.create_transfers(uow, [hold]))] == ["ok"]
    clock.advance(seconds=6)
    app = create_app(engine, Settings(admin_token="t", expiry_interval_seconds=0.05))
    with TestClient(app):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with reading(engine) as connection:
                status = service.get_transfers(connection, ["h1"])["h1"].status
            if status == PendingStatus.expired:
                break
            time.sleep(0.05)
    assert status == PendingStatus.expired
    with reading(engine) as connection:
        assert service.get_account(connection, "platform.suspense.CNY").credits_pending == 0
        assert audit(connection).ok
