"""Provisions (拨备) cover the platform's own share of a loan (user pass, finding 3): in joint lending
(联合贷款) the funding partner bears its share of the losses (`partners.write_off`), so the end of day
provisions the class rate of the platform's share of the outstanding principal only; nothing in pure
facilitation (助贷). Shares as the loan is repaid follow the partner's principal still outstanding."""

from __future__ import annotations

from decimal import Decimal

from puhui.db import reading
from puhui.lending import accounts, service
from puhui.lending.delinquency import LoanClass, provision_for
from puhui.lending.partners import service as partners
from puhui.lending.tables import loan_provisions

from .lending_world import MONTHLY, World
from .test_joint_lending import FACILITATED, JOINT, funding_partner, sound


def _state(engine, loan_id: str) -> tuple[dict, accounts.LoanBalances, int, int]:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        row = service.loan_row(connection, loan_id)
        held = (
            connection.execute(loan_provisions.select().where(loan_provisions.c.loan_id == loan_id))
            .mappings()
            .one()["amount"]
        )
        return row, accounts.balances(connection, loan_id), partners.partner_outstanding(connection, loan_id), held


def test_a_joint_loan_is_provisioned_on_the_platforms_share(engine, clock):
    world = World(engine, clock)
    partner = funding_partner(world)
    world.product(MONTHLY)
    world.product(JOINT)  # platform share 0.3
    world.product(FACILITATED)  # platform share 0
    world.run(lambda uow: partners.fund_product(uow, "joint-30", partner))
    world.run(lambda uow: partners.fund_product(uow, "assist-0", partner, Decimal("0.25")))
    cid = world.customer()
    joint = world.loan(cid, "joint-30", 10_000_00, 6)
    own = world.loan(cid, "cash-12", 10_000_00, 6)
    assisted = world.loan(cid, "assist-0", 10_000_00, 6)
    with reading(engine) as connection:
        first_due = service.instalments(connection, joint)[0]["due_day"]

    ran = world.eod()  # day one, all current (normal, 1%)
    assert _state(engine, joint)[1].provision == 30_00  # 1% of the platform's 3,000.00
    assert _state(engine, own)[1].provision == 100_00
    assert _state(engine, assisted)[1].provision == 0
    while ran.business_date.toordinal() < first_due + 4:  # nobody pays: 4 days past due, M1, special mention
        world.next_day()
        ran = world.eod()
    row, balance, partner_left, held = _state(engine, joint)
    assert (row["days_past_due"], row["bucket"], row["loan_class"]) == (4, "M1", "special_mention")
    assert (balance.principal, partner_left) == (10_000_00, 7_000_00)
    assert balance.provision == held == 60_00  # 2% of 3,000.00, not of 10,000.00
    assert _state(engine, own)[1].provision == 200_00
    assert _state(engine, assisted)[1].provision == 0
    sound(engine)

    world.repay(joint, cid)  # arrears paid: the partner's principal falls by its share of what was repaid
    world.next_day()
    world.eod()
    row, balance, partner_left, held = _state(engine, joint)
    assert 0 < partner_left < 7_000_00 and row["loan_class"] == "normal"
    assert balance.provision == held == provision_for(balance.principal - partner_left, LoanClass.normal)
    sound(engine)
