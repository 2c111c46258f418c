"""One person holds one 百万医疗 cover of a product at a time, over HTTP on SQLite and PostgreSQL.

The defect found on the demo: three `POST /v1/insurance/policies` for the same product and customer with
different Idempotency-Keys gave three 201s, each charging the premium, two in force at once — indemnity cover
pays a loss once, so a second premium buys nothing. Now a policy of the same product (any version) whose
cover overlaps one in force or awaiting its start is refused (409 `policy_already_in_force`, naming the
policy and its cover end) and the refusal moves no money and writes nothing; a renewal starting when the
cover ends, a purchase after it has ended, and a purchase after a cancellation are sold; another product or
another person is not in the way; racing purchases of one person sell one policy."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

from sqlalchemy import func, select

from puhui.db import reading, transaction
from puhui.insurance import errors, models, service
from puhui.insurance.tables import insurance_policies
from tests.identity.helpers import LI, ZHANG, login
from tests.insurance.ages import aged
from tests.insurance.test_insurance_http import (  # noqa: F401 - the client fixture
    CONFIRMED,
    DISCLOSURE,
    PRODUCT,
    WALLET,
    another_product,
    assert_audit_clean,
    balance,
    buy,
    call,
    client,
    customer,
    insurer_with_product,
    problem,
    snapshot,
)


def policies_of(engine, customer_id: str) -> int:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        query = select(func.count()).select_from(insurance_policies)
        return connection.execute(query.where(insurance_policies.c.customer_id == customer_id)).scalar_one()


def renew(client, me: dict, key: str, policy_id: str):  # type: ignore[no-untyped-def]
    body = {"disclosure": DISCLOSURE, "confirmations": CONFIRMED}
    return call(client, f"/v1/insurance/policies/{policy_id}/renew", me, key, body)


def test_a_second_policy_of_the_product_for_the_same_period_is_refused_and_changes_nothing(client, engine, clock):
    insurer_id, operator = insurer_with_product(client)
    zhang, me = customer(client, engine, aged(ZHANG, 30))
    first = buy(client, me, "buy-1")
    assert first.status_code == 201, first.text
    policy = first.json()
    assert (policy["start_date"], policy["end_date"]) == ("2026-01-06", "2027-01-06")

    before = snapshot(engine)
    for key in ("buy-2", "buy-3"):  # the demo's second and third purchase, each under its own key
        refused = buy(client, me, key)
        problem(refused, 409, "policy_already_in_force")
        assert refused.json()["policy_id"] == policy["id"] and refused.json()["cover_end"] == "2027-01-06"
        assert policy["id"] in refused.json()["detail"]
    # any version of the product: a v2 on other terms is the same cover
    v2 = {**PRODUCT, "version": 2, "insurer_id": insurer_id, "cooling_off_days": 20}
    assert call(client, "/v1/insurance/products", operator, "prod-v2", v2).status_code == 201
    before = {**snapshot(engine), "insurance_products": before["insurance_products"]}
    problem(buy(client, me, "buy-v2", version=2, social=False), 409, "policy_already_in_force")
    after = snapshot(engine)
    assert {**after, "insurance_products": before["insurance_products"]} == before  # nothing sold, nothing moved
    assert balance(engine, f"wallet.{zhang}") == WALLET - 299_00
    assert balance(engine, service.premium_held_account(insurer_id)) == 299_00
    assert policies_of(engine, zhang) == 1
    # the first purchase's key still answers its policy
    replay = buy(client, me, "buy-1")
    assert replay.status_code == 201 and replay.json() == policy

    # another product, and another person, are not in the way
    another_product(client, operator, insurer_id, "med-e2")
    assert buy(client, me, "buy-other", code="med-e2").status_code == 201
    _, li = customer(client, engine, aged(LI, 30))
    assert buy(client, li, "li-1").status_code == 201
    assert_audit_clean(engine)


def test_a_cancelled_policy_does_not_block_and_a_renewal_or_a_new_year_after_the_cover_is_sold(client, engine, clock):
    insurer_with_product(client)
    zhang, me = customer(client, engine, aged(ZHANG, 30))
    first = buy(client, me, "buy-1").json()
    cancelled = call(client, f"/v1/insurance/policies/{first['id']}/cancel", me, "cancel-1")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled", cancelled.text
    again = buy(client, me, "buy-2")
    assert again.status_code == 201, again.text
    second = again.json()

    clock.advance(days=340)  # 2026-12-11: within 30 days of the cover's end, 2027-01-06
    me = login(client, ZHANG)
    renewed = renew(client, me, "renew-1", second["id"])
    assert renewed.status_code == 201, renewed.text
    assert (renewed.json()["start_date"], renewed.json()["end_date"]) == ("2027-01-06", "2028-01-06")
    before = snapshot(engine)
    refused = buy(client, me, "buy-3")  # overlaps both: the one ending last is named
    problem(refused, 409, "policy_already_in_force")
    assert (refused.json()["policy_id"], refused.json()["cover_end"]) == (renewed.json()["id"], "2028-01-06")
    assert snapshot(engine) == before

    # a person whose cover has ended buys a new year; the ended policy is not in the way
    _, li = customer(client, engine, aged(LI, 30))
    li_first = buy(client, li, "li-1").json()
    assert li_first["start_date"] == "2026-12-12"
    clock.advance(days=366)  # 2027-12-12: Li's cover ended on 2027-12-12 (exclusive)
    li = login(client, LI)
    li_again = buy(client, li, "li-2")
    assert li_again.status_code == 201, li_again.text
    assert li_again.json()["start_date"] == "2027-12-13"
    assert_audit_clean(engine)


def test_the_overlap_rule_on_the_cover_dates(engine, clock):
    """Half-open covers: one ending on the other's start does not overlap; a day in common does."""
    from puhui.identity.tables import partners

    def setup(uow):  # type: ignore[no-untyped-def]
        uow.execute(partners.insert().values(id="ins-co", name="保险公司", created_by="admin", created_at=0))
        service.register_insurer(uow, "ins-co")
        product = models.MedicalProduct("med-r", 1, "百万医疗", (models.AgeBand(0, 65, 300_00, 600_00),))
        service.add_medical_product(uow, "ins-co", product)
        wallet(uow, "c1")
        return service.buy_medical(uow, "c1", "med-r", 1, 30, True, DISCLOSURE, CONFIRMED, "k1")

    held = transaction(engine, setup)
    start, end = dt.date.fromisoformat(held["start_date"]), dt.date.fromisoformat(held["end_date"])
    day = dt.timedelta(days=1)
    with reading(engine) as connection:

        def found(a: dt.date, b: dt.date) -> str | None:
            row = service.in_force_overlapping(connection, "c1", "med-r", a, b)
            return None if row is None else row["id"]

        assert found(end, end + 365 * day) is None  # the renewal's year
        assert found(start - 365 * day, start) is None  # the year before
        assert found(end - day, end + 364 * day) == held["id"]
        assert found(start - 364 * day, start + day) == held["id"]
        assert found(start, end) == held["id"]
        assert service.in_force_overlapping(connection, "c2", "med-r", start, end) is None
        assert service.in_force_overlapping(connection, "c1", "med-x", start, end) is None


def wallet(uow, customer_id: str) -> None:  # type: ignore[no-untyped-def]
    from puhui.ledger.models import AccountFlags, Transfer
    from puhui.ledger.service import create_account, create_transfers

    account = f"wallet.{customer_id}"
    create_account(
        uow,
        ledger="CNY",
        code="customer_wallet",
        owner_id=customer_id,
        flags=AccountFlags.debits_must_not_exceed_credits,
        id=account,
    )
    top_up = Transfer(f"fund.{account}", "platform.reserve_bank.CNY", account, 10_000_00, "CNY", "top_up")
    assert [r.value for r in create_transfers(uow, [top_up])] == ["ok"]


def test_racing_purchases_of_one_person_sell_one_policy(engine, clock):
    """Six purchases of one person at once, under six client ids and across two versions of the product: one
    is sold and charged, the others are refused with `policy_already_in_force` and move nothing."""
    from puhui.identity.tables import partners

    def setup(uow):  # type: ignore[no-untyped-def]
        uow.execute(partners.insert().values(id="ins-co", name="保险公司", created_by="admin", created_at=0))
        service.register_insurer(uow, "ins-co")
        for version in (1, 2):
            band = models.AgeBand(0, 65, 300_00 * version, 600_00)
            service.add_medical_product(uow, "ins-co", models.MedicalProduct("med-r", version, "百万医疗", (band,)))
        wallet(uow, "c1")

    transaction(engine, setup)
    racers = 6
    barrier = Barrier(racers)

    def sell(i: int) -> object:
        barrier.wait()
        try:
            return transaction(
                engine,
                lambda uow: service.buy_medical(
                    uow, "c1", "med-r", 1 + i % 2, 30, True, DISCLOSURE, CONFIRMED, f"race-{i}"
                ),
            )
        except errors.PolicyAlreadyInForce as refused:
            return refused

    with ThreadPoolExecutor(racers) as pool:
        results = list(pool.map(sell, range(racers)))
    sold = [r for r in results if isinstance(r, dict)]
    refused = [r for r in results if isinstance(r, errors.PolicyAlreadyInForce)]
    assert len(sold) == 1 and len(refused) == racers - 1, results
    assert all(r.extra["policy_id"] == sold[0]["id"] for r in refused)
    premium = 300_00 * sold[0]["product_version"]
    assert balance(engine, service.premium_held_account("ins-co")) == premium
    assert balance(engine, "wallet.c1") == 10_000_00 - premium
    assert policies_of(engine, "c1") == 1
    with reading(engine) as connection:
        assert service.verify_sales_chain(connection)
    assert_audit_clean(engine)
