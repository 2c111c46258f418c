"""The sandbox bank wired to a test app as the server wires it: its signed notifications posted to
`/v1/bank/notifications`, a settlement account opened with a balance, the app's bank channel set to it."""

from __future__ import annotations

from typing import Any

from puhui.payments.bank.sandbox.bank import SandboxBank
from puhui.settings import SANDBOX_BANK_NOTIFY_KEY


def notifying_bank(client: Any, account: str, balance: int, reserve: int) -> SandboxBank:
    """A sandbox bank holding `reserve` fen for the platform and `balance` in `account`, notifying `client`'s app."""
    bank = SandboxBank(SANDBOX_BANK_NOTIFY_KEY, reserve_balance=reserve, auto_open_balance=0)

    def callback(body: bytes, header: str) -> int:
        return client.post(
            "/v1/bank/notifications",
            content=body,
            headers={"X-Bank-Signature": header, "Content-Type": "application/json"},
        ).status_code

    bank.register_callback(callback)
    bank.open_card(account, balance)
    client.app.state.bank = bank
    return bank
