"""Funding partners (资金方) in joint lending (联合贷款) and pure facilitation (助贷).

A funding partner is an identity partner (a bank) with two accounts on the CNY ledger, both on
`partner_funding` (a liability: what the platform holds for, and owes to, the partner):

- `partner.<id>.funding`: the partner's money lent through the platform and still outstanding
  (its share of the loans' principal). Credited when the partner's cash arrives in the reserve at
  disbursement; debited as borrowers repay the partner's share of principal (or as it is written off).
- `partner.<id>.payable`: principal and interest collected for the partner and not yet paid over
  (待划付). Credited by the partner's part of every repayment; debited when the platform pays it.

Rules (documented platform rules):
- Disbursement: the partner funds (1 − share) of the principal, `joint.split(0, P, share)`; its
  cash arrives in the reserve account (debit reserve, credit its funding account); the platform's
  own cash funds the rest of what the wallet is credited (`reserve.fund_reserve`).
- Repayments: principal and interest are split pro rata, cumulatively per loan and component with
  `joint.split`, so the parts add up to the fen whatever the number of repayments. Fees, early
  repayment fees and penalty interest belong to the platform, which services the loan.
- Facilitation (share 0): the partner funds and receives all principal; of every interest payment
  the platform keeps `service_fee_rate` as its service fee (技术服务费, moved from interest income to
  fee income) and the rest is the partner's.
- Write-off: each funder bears its share; the partner's outstanding principal on the loan is written
  down (its funding account debited, the provision expense that absorbed the principal credited).
  Recoveries after a write-off stay with the platform (not yet shared).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, func, select

from puhui import clock
from puhui.db import UnitOfWork
from puhui.errors import Forbidden
from puhui.events.outbox import publish
from puhui.identity import org
from puhui.ledger.models import AccountFlags, Transfer
from puhui.ledger.service import create_account, require_account
from puhui.lending import accounts
from puhui.lending.accounts import post
from puhui.lending.catalog import get_product
from puhui.lending.errors import FundingExists, FundingInvalid, NoFundingPartner, PartnerNotFound, PayoutTooLarge
from puhui.lending.partners import joint
from puhui.lending.partners.tables import (
    lending_partners,
    lending_product_funding,
    loan_funding_events,
    loan_fundings,
)
from puhui.lending.products import Product
from puhui.money import format_minor
from puhui.payments import reserve

TOPIC = "lending"
RATE_SCALE = 1_000_000
EVENTS = ("disbursement", "repayment", "write_off")


def funding_account(partner_id: str) -> str:
    return f"partner.{partner_id}.funding"


def payable_account(partner_id: str) -> str:
    return f"partner.{partner_id}.payable"


def _move(id: str, debit: str, credit: str, amount: int, code: str) -> Transfer:
    return Transfer(id, debit, credit, amount, accounts.LEDGER, code)


# -- partners and products -------------------------------------------------------------------------


def register(uow: UnitOfWork, partner_id: str) -> dict:
    """Make an identity partner a funding partner and open its two accounts; again is a no-op."""
    if not org.partner_exists(uow.connection, partner_id):
        raise PartnerNotFound(f"partner {partner_id} is not registered")
    if uow.execute(select(lending_partners).where(lending_partners.c.partner_id == partner_id)).first() is None:
        for account in (funding_account(partner_id), payable_account(partner_id)):
            create_account(
                uow,
                ledger=accounts.LEDGER,
                code="partner_funding",
                owner_id=partner_id,
                id=account,
                flags=AccountFlags.debits_must_not_exceed_credits,
            )
        uow.execute(lending_partners.insert().values(partner_id=partner_id, created_at=clock.now_micros()))
        publish(uow, TOPIC, "lending.partner_registered", partner_id, {"partner_id": partner_id})
    return partner_json(uow.connection, partner_id)


def _require_partner(connection: Connection, partner_id: str) -> None:
    if connection.execute(select(lending_partners).where(lending_partners.c.partner_id == partner_id)).first() is None:
        raise PartnerNotFound(f"funding partner {partner_id} not found")


def fund_product(uow: UnitOfWork, product_code: str, partner_id: str, service_fee_rate: Decimal = Decimal(0)) -> dict:
    """The partner that funds a joint or facilitation product; in facilitation, the service fee rate."""
    product = get_product(uow.connection, product_code)
    _require_partner(uow.connection, partner_id)
    if product.platform_share == 1:
        raise FundingInvalid(f"product {product_code} is lent from the platform's own book (share 1)")
    if not Decimal(0) <= service_fee_rate <= Decimal(1) or service_fee_rate != service_fee_rate.quantize(
        Decimal("0.000001")
    ):
        raise FundingInvalid("service_fee_rate must be from 0 to 1 with at most six decimals")
    if service_fee_rate and not product.facilitation:
        raise FundingInvalid("a service fee applies to pure facilitation (platform share 0) only")
    rate = int(service_fee_rate * RATE_SCALE)
    row = (
        uow.execute(select(lending_product_funding).where(lending_product_funding.c.product_code == product_code))
        .mappings()
        .first()
    )
    if row is None:
        uow.execute(
            lending_product_funding.insert().values(
                product_code=product_code,
                partner_id=partner_id,
                service_fee_rate_e6=rate,
                created_at=clock.now_micros(),
            )
        )
        publish(
            uow, TOPIC, "lending.product_funded", product_code, {"product_code": product_code, "partner_id": partner_id}
        )
    elif (row["partner_id"], row["service_fee_rate_e6"]) != (partner_id, rate):
        raise FundingExists(f"product {product_code} is funded by {row['partner_id']} on other terms")
    return {
        "product_code": product_code,
        "partner_id": partner_id,
        "platform_share": str(product.platform_share),
        "service_fee_rate": str(Decimal(rate) / RATE_SCALE),
    }


# -- the money -------------------------------------------------------------------------------------


def _event(
    uow: UnitOfWork,
    id: str,
    loan_id: str,
    partner_id: str,
    event: str,
    principal: int,
    interest: int,
    partner_principal: int,
    partner_interest: int,
    day: int,
) -> None:
    uow.execute(
        loan_funding_events.insert().values(
            id=id,
            loan_id=loan_id,
            partner_id=partner_id,
            business_day=day,
            event=event,
            principal=principal,
            interest=interest,
            partner_principal=partner_principal,
            partner_interest=partner_interest,
            created_at=clock.now_micros(),
        )
    )


def fund_loan(uow: UnitOfWork, loan_id: str, product: Product, principal: int, day: int) -> int:
    """At disbursement: the partner's part of the principal arrives in the reserve (debit reserve,
    credit its funding account). Returns that part, which the platform's own cash need not cover."""
    row = (
        uow.execute(select(lending_product_funding).where(lending_product_funding.c.product_code == product.code))
        .mappings()
        .first()
    )
    if row is None:
        raise NoFundingPartner(
            f"product {product.code} funds {1 - product.platform_share:%} through a partner, "
            "but no funding partner is assigned"
        )
    partner_id = row["partner_id"]
    partner_part = joint.split(0, principal, product.platform_share)[1]
    uow.execute(
        loan_fundings.insert().values(
            loan_id=loan_id,
            partner_id=partner_id,
            platform_share=str(product.platform_share),
            service_fee_rate_e6=row["service_fee_rate_e6"],
            principal=principal,
            partner_principal=partner_part,
            created_at=clock.now_micros(),
        )
    )
    _event(uow, f"fe.{loan_id}.dsb", loan_id, partner_id, "disbursement", principal, 0, partner_part, 0, day)
    if partner_part:
        post(
            uow,
            [
                _move(
                    f"dsb.{loan_id}.partner",
                    reserve.RESERVE,
                    funding_account(partner_id),
                    partner_part,
                    "partner_funding",
                )
            ],
        )
    return partner_part


def funding_of(connection: Connection, loan_id: str) -> dict | None:
    row = connection.execute(select(loan_fundings).where(loan_fundings.c.loan_id == loan_id)).mappings().first()
    return dict(row) if row is not None else None


def partner_outstanding_sql(loan_id_sql: str) -> str:
    """A correlated SQL subquery (set-based end of day): the funding partner's principal still outstanding
    on the loan whose id the SQL expression `loan_id_sql` names — its part of the principal less its parts
    of the principal repaid; 0 for a loan from the platform's own book. What the platform holds of the
    loan's outstanding principal is the rest."""
    repaid = (
        "SELECT sum(e.partner_principal) FROM loan_funding_events e "
        "WHERE e.loan_id = f.loan_id AND e.event = 'repayment'"
    )
    return (
        f"coalesce((SELECT CAST(f.partner_principal - coalesce(({repaid}), 0) AS BIGINT) "
        f"FROM loan_fundings f WHERE f.loan_id = {loan_id_sql}), 0)"
    )


def partner_outstanding(connection: Connection, loan_id: str) -> int:
    """The funding partner's principal still outstanding on a loan (fen); 0 for own-book loans."""
    row = funding_of(connection, loan_id)
    if row is None:
        return 0
    repaid = connection.execute(
        select(func.coalesce(func.sum(loan_funding_events.c.partner_principal), 0)).where(
            loan_funding_events.c.loan_id == loan_id, loan_funding_events.c.event == "repayment"
        )
    ).scalar_one()
    return row["partner_principal"] - int(repaid)


def _paid_before(connection: Connection, loan_id: str) -> tuple[int, int]:
    row = connection.execute(
        select(
            func.coalesce(func.sum(loan_funding_events.c.principal), 0),
            func.coalesce(func.sum(loan_funding_events.c.interest), 0),
        ).where(loan_funding_events.c.loan_id == loan_id, loan_funding_events.c.event == "repayment")
    ).one()
    return int(row[0]), int(row[1])


def repayment_moves(
    uow: UnitOfWork, loan_id: str, repayment_id: str, principal: int, interest: int, day: int
) -> list[Transfer]:
    """The partner's parts of a repayment become owed to it; records the split. [] for own-book loans."""
    funding = funding_of(uow.connection, loan_id)
    if funding is None or principal + interest == 0:
        return []
    partner_id, share = funding["partner_id"], Decimal(funding["platform_share"])
    principal_before, interest_before = _paid_before(uow.connection, loan_id)
    partner_principal = joint.split(principal_before, principal, share)[1]
    if share == 0:  # facilitation: the platform's part of the interest is its service fee
        fee_share = Decimal(funding["service_fee_rate_e6"]) / RATE_SCALE
        service_fee, partner_interest = joint.split(interest_before, interest, fee_share)
    else:
        service_fee, partner_interest = 0, joint.split(interest_before, interest, share)[1]
    _event(
        uow,
        f"fe.{repayment_id}",
        loan_id,
        partner_id,
        "repayment",
        principal,
        interest,
        partner_principal,
        partner_interest,
        day,
    )
    payable = payable_account(partner_id)
    moves = []
    if partner_principal:
        moves.append(
            _move(
                f"rp.{repayment_id}.ptn_p",
                funding_account(partner_id),
                payable,
                partner_principal,
                "partner_principal_due",
            )
        )
    if partner_interest:
        moves.append(
            _move(
                f"rp.{repayment_id}.ptn_i", accounts.INTEREST_INCOME, payable, partner_interest, "partner_interest_due"
            )
        )
    if service_fee:
        moves.append(
            _move(
                f"rp.{repayment_id}.svc_fee",
                accounts.INTEREST_INCOME,
                accounts.FEE_INCOME,
                service_fee,
                "facilitation_service_fee",
            )
        )
    return moves


def write_off(uow: UnitOfWork, loan_ids: list[str], day: int) -> None:
    """At write-off the partner bears its share: its principal still outstanding on each loan is
    written down (debit its funding account, credit the provision expense that absorbed it).
    Posted through the ledger service (not `ledger.bulk`, which refuses flagged accounts)."""
    if not loan_ids:
        return
    rows = uow.execute(select(loan_fundings).where(loan_fundings.c.loan_id.in_(loan_ids))).mappings().all()
    moves = []
    for f in rows:
        left = partner_outstanding(uow.connection, f["loan_id"])
        _event(
            uow,
            f"fe.{f['loan_id']}.wo",
            f["loan_id"],
            f["partner_id"],
            "write_off",
            f["principal"] - _paid_before(uow.connection, f["loan_id"])[0],
            0,
            left,
            0,
            day,
        )
        if left > 0:
            moves.append(
                _move(
                    f"wo.{f['loan_id']}.partner",
                    funding_account(f["partner_id"]),
                    accounts.PROVISION_EXPENSE,
                    left,
                    "partner_write_off_share",
                )
            )
    post(uow, moves)


def pay_partner(uow: UnitOfWork, partner_id: str, amount: int, transfer_id: str) -> dict:
    """Pay over what was collected for the partner (划付): debit its payable, credit the reserve."""
    _require_partner(uow.connection, partner_id)
    owed = _balance(uow.connection, payable_account(partner_id))
    if amount <= 0 or amount > owed:
        raise PayoutTooLarge(f"at most {format_minor(owed, 2)} is owed to partner {partner_id}")
    post(uow, [_move(transfer_id, payable_account(partner_id), reserve.RESERVE, amount, "partner_payout")])
    publish(
        uow, TOPIC, "lending.partner_paid", partner_id, {"partner_id": partner_id, "amount": format_minor(amount, 2)}
    )
    return partner_json(uow.connection, partner_id)


# -- reading ---------------------------------------------------------------------------------------


def _balance(connection: Connection, account_id: str) -> int:
    account = require_account(connection, account_id)
    return account.credits_posted - account.debits_posted


def partner_json(connection: Connection, partner_id: str) -> dict:
    _require_partner(connection, partner_id)
    return {
        "partner_id": partner_id,
        "funding_outstanding": format_minor(_balance(connection, funding_account(partner_id)), 2),
        "payable": format_minor(_balance(connection, payable_account(partner_id)), 2),
    }


def file_lines(connection: Connection, partner_id: str, date: dt.date) -> list[joint.PartnerLine]:
    """The partner's events of one business date, from the business rows."""
    rows = connection.execute(
        select(loan_funding_events)
        .where(loan_funding_events.c.partner_id == partner_id, loan_funding_events.c.business_day == date.toordinal())
        .order_by(loan_funding_events.c.created_at, loan_funding_events.c.id)
    ).mappings()
    return [
        joint.PartnerLine(
            date.isoformat(),
            r["loan_id"],
            r["event"],
            r["principal"],
            r["interest"],
            r["partner_principal"],
            r["partner_interest"],
        )
        for r in rows
    ]


def partner_file(connection: Connection, partner_id: str, date: dt.date) -> str:
    """The daily CSV (合作机构对账文件) for the partner and date."""
    _require_partner(connection, partner_id)
    return joint.partner_file(file_lines(connection, partner_id, date))


def may_read(principal: Any, partner_id: str) -> None:
    """Staff read every partner; a partner only itself."""
    if not principal.is_staff and not (principal.role == "partner" and principal.id == partner_id):
        raise Forbidden("this belongs to another partner")
