"""The insurer's books on the platform's ledger (保险公司分户账): the platform keeps, for each partner
insurer, a sub-ledger of its premium and claims accounting, on the same CNY ledger as everything else
but closed on itself (every posting is between two of the insurer's own accounts).

Each line of business (险种, `puhui.insurance.reserves.lines`) keeps its own set of these accounts: the
medical line's are `insurer.<id>.<part>`, the return-shipping line's `insurer.<id>.rs.<part>`; the insurer's
totals are the sums of its lines' balances. Accounts (owner the insurer), with their normal sides:
- `receivable`      应收保费 (asset, debit): premiums written, less refunds and claims paid; the
                    insurer's side of the premiums the platform holds for it (保费待划转);
- `upr`             未到期责任准备金 (liability, credit): premium written and not yet earned;
- `earned`          已赚保费 (income, credit);
- `claims_paid`     赔付支出 (expense, debit);
- `case_reserve`    未决赔款准备金 (liability, credit): case estimates of reported open claims;
- `ibnr`            已发生未报案未决赔款准备金 (liability, credit);
- `reserve_expense` 提取未决赔款准备金 (expense, debit): the movement of the two claim reserves.

Premium is booked the deferred way (liability for remaining coverage): a written premium enters the
UPR (Dr receivable, Cr UPR) and is moved day by day, 1/365 (1/366) a day, from the UPR to earned
premium (Dr UPR, Cr earned). So 保费收入 (written) − 提取未到期责任准备金 (the UPR's growth) = 已赚保费,
the statement's lines, read off these accounts. A refund (退保) leaves the UPR (Dr UPR, Cr receivable);
a cooling-off refund of everything first gives back what had been earned (Dr earned, Cr UPR).
Return-shipping claims are paid the moment they are reported: that line moves no case reserve.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from puhui.db import UnitOfWork
from puhui.insurance.reserves.lines import MEDICAL, RETURN_SHIPPING
from puhui.ledger.models import Transfer
from puhui.ledger.service import create_account, get_account

LEDGER = "CNY"
PARTS = {
    "receivable": "insurer_premium_receivable",
    "upr": "insurer_upr",
    "earned": "insurer_earned_premium",
    "claims_paid": "insurer_claims_paid",
    "case_reserve": "insurer_case_reserve",
    "ibnr": "insurer_ibnr_reserve",
    "reserve_expense": "insurer_reserve_expense",
}
DEBIT_NORMAL = frozenset({"receivable", "claims_paid", "reserve_expense"})
LINE_INFIX = {MEDICAL: "", RETURN_SHIPPING: "rs."}


def account_id(insurer_id: str, part: str, line: str = MEDICAL) -> str:
    return f"insurer.{insurer_id}.{LINE_INFIX[line]}{part}"


def open_books(uow: UnitOfWork, insurer_id: str, line: str = MEDICAL) -> None:
    """Open the insurer's sub-ledger accounts of a line (again is a no-op)."""
    for part, code in PARTS.items():
        create_account(uow, ledger=LEDGER, code=code, owner_id=insurer_id, id=account_id(insurer_id, part, line))


@dataclass(frozen=True, slots=True)
class Books:
    """The insurer's booked figures, read from the ledger (fen)."""

    written: int
    refunded: int
    earned: int
    upr: int
    paid: int
    case_reserve: int
    ibnr: int


def read_books(uow: UnitOfWork, insurer_id: str, line: str = MEDICAL) -> Books:
    """A line's booked figures: each account's balance on its normal side; written is what the receivable
    was ever debited, refunded what it was credited other than by claims paid."""
    sides = {}
    for part in PARTS:
        account = get_account(uow.connection, account_id(insurer_id, part, line))
        debits, credits = (0, 0) if account is None else (account.debits_posted, account.credits_posted)
        sides[part] = (debits, credits)
    paid = sides["claims_paid"][0] - sides["claims_paid"][1]

    def credit(part: str) -> int:
        return sides[part][1] - sides[part][0]

    return Books(
        written=sides["receivable"][0],
        refunded=sides["receivable"][1] - paid,
        earned=credit("earned"),
        upr=credit("upr"),
        paid=paid,
        case_reserve=credit("case_reserve"),
        ibnr=credit("ibnr"),
    )


@dataclass(frozen=True, slots=True)
class Movement:
    """One of the day's postings: `amount` (either sign) from `debit` to `credit` as named by part;
    a negative amount posts the other way."""

    name: str
    debit: str
    credit: str
    amount: int


def movements(
    booked: Books, written: int, refunded: int, earned: int, paid: int, case: int, ibnr: int
) -> list[Movement]:
    """What moves the books from `booked` to the new totals: only the differences."""
    return [
        Movement("written", "receivable", "upr", written - booked.written),
        Movement("refunded", "upr", "receivable", refunded - booked.refunded),
        Movement("earned", "upr", "earned", earned - booked.earned),
        Movement("paid", "claims_paid", "receivable", paid - booked.paid),
        Movement("case", "reserve_expense", "case_reserve", case - booked.case_reserve),
        Movement("ibnr", "reserve_expense", "ibnr", ibnr - booked.ibnr),
    ]


def transfers(insurer_id: str, key: str, moves: list[Movement], line: str = MEDICAL) -> Iterator[Transfer]:
    """The ledger transfers of a line's non-zero movements, ids `key.<name>` (`key.rs.<name>` for
    return shipping)."""
    for move in moves:
        if move.amount == 0:
            continue
        debit, credit = (move.debit, move.credit) if move.amount > 0 else (move.credit, move.debit)
        yield Transfer(
            f"{key}.{LINE_INFIX[line]}{move.name}",
            account_id(insurer_id, debit, line),
            account_id(insurer_id, credit, line),
            abs(move.amount),
            LEDGER,
            f"insurer_{move.name}",
        )
