"""What must be settled before a customer's account closes (注销前须结清): everything still open, by kind.

Two sources, read in the closing's unit of work:

- The ledger: every account the customer owns other than the wallet (`ledger.queries.unsettled_accounts_of`)
  with a posted balance or a hold pending — brokerage cash (`sec.cash.…`) and cash frozen for buy orders,
  shares held and frozen for sell orders, fund and money-market units.
- The business forms' registered checks, for what the ledger does not book to the customer's own accounts:
  a loan's receivables are owned by the loan id, a fund purchase or money-market subscription waiting for
  confirmation sits in the fund's accounts, an insurance policy in force is a contract, not a balance. The
  business forms sit beside identity, above nothing it may import, so the app registers their checks
  where it is assembled (`puhui.app.create_app`): `register(check)`, each check
  `(connection, customer_id) -> list[Holding]`. `listed` makes one from a function listing the customer's
  rows (loans, orders, policies).

A holding names what is open (its kind, the account, loan, order or policy id, the amount) and never a
personal value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Connection

from puhui.ledger import queries as ledger_queries
from puhui.money import format_minor


@dataclass(frozen=True)
class Holding:
    """Something open in the customer's name: `kind` (loan, brokerage_cash, shares, money_market_units, …),
    `reference` (the account, loan, order or policy id), `amount` (a decimal string on its ledger, negative
    when owed; None when the thing has no amount) and `pending` (holds on the account, None when none)."""

    kind: str
    reference: str
    amount: str | None = None
    pending: str | None = None

    def json(self) -> dict[str, Any]:
        return asdict(self)


Check = Callable[[Connection, str], list[Holding]]
_CHECKS: dict[str, Check] = {}  # by name: assembling the app again replaces, never doubles

# The kinds of the customer's own ledger accounts, by account code (an unknown code is its own kind).
KINDS = {
    "customer_wallet": "wallet",
    "securities_cash": "brokerage_cash",
    "securities_cash_frozen": "brokerage_cash_frozen",  # cash frozen for buy orders not yet filled
    "securities_shares_held": "shares",
    "securities_shares_frozen": "shares_frozen",  # shares frozen for sell orders not yet filled
    "fund_units_held": "fund_units",
}
MMF_HOLDER_PREFIX = "mmf."  # `wealth.units.holder_account`: a money-market fund's units (余额宝-style)


def register(check: Check) -> None:
    """Add a business form's check; one of the same name (`__name__`) is replaced."""
    _CHECKS[check.__name__] = check


def registered() -> tuple[Check, ...]:
    return tuple(_CHECKS.values())


def unregister(check: Check) -> None:
    _CHECKS.pop(check.__name__, None)


def listed(
    kind: str,
    rows: Callable[[Connection, str], Iterable[Mapping[str, Any]]],
    is_open: Callable[[Mapping[str, Any]], bool],
    amount: str | None = None,
) -> Check:
    """A check named `open_<kind>` from a function listing the customer's rows (each with an `id`): each
    row `is_open` is a holding of `kind`, with the row's `amount` field (fen as an int, or a decimal string)."""

    def check(connection: Connection, customer_id: str) -> list[Holding]:
        found = []
        for row in rows(connection, customer_id):
            if is_open(row):
                value = None if amount is None else row[amount]
                shown = format_minor(value, 2) if isinstance(value, int) else value
                found.append(Holding(kind, str(row["id"]), shown))
        return found

    check.__name__ = check.__qualname__ = f"open_{kind}"
    return check


def ledger_holdings(connection: Connection, customer_id: str) -> list[Holding]:
    """The customer's own ledger accounts (the wallet among them) that are not settled."""
    found = []
    for account in ledger_queries.unsettled_accounts_of(connection, customer_id):
        kind = KINDS.get(account.code, account.code)
        if account.code == "fund_units_held" and account.id.startswith(MMF_HOLDER_PREFIX):
            kind = "money_market_units"
        found.append(
            Holding(
                kind,
                account.id,
                format_minor(account.net_credit, account.scale),
                format_minor(account.pending, account.scale) if account.pending else None,
            )
        )
    return found


def open_holdings(connection: Connection, customer_id: str) -> list[Holding]:
    """Everything still open in the customer's name: the ledger's (the wallet's too), then each check's."""
    found = ledger_holdings(connection, customer_id)
    for check in _CHECKS.values():
        found.extend(check(connection, customer_id))
    return found
