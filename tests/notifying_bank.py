"""The sandbox bank wired to a test app as the server wires it: its signed notifications posted to
`/v1/bank/notifications`, a settlement account opened with a balance, the app's bank channel set to it."""

from __future__ import annotations

from typing import Any

from puhui.demo import wire_bank
from puhui.payments.bank.sandbox.bank import SandboxBank
from puhui.settings import SANDBOX_BANK_NOTIFY_KEY


def notifying_bank(client: Any, account: str, balance: int, reserve: int) -> SandboxBank:
    """A sandbox bank holding `reserve` fen for the platform and `balance` in `account`, notifying `client`'s app."""
    bank = SandboxBank(SANDBOX_BANK_NOTIFY_KEY, reserve_balance=reserve, auto_open_balance=0)
    wire_bank(client, bank)
    bank.open_card(account, balance)
    return bank
