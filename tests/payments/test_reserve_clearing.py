"""The reserve's clearing (备付金清算, `payments.bank.clearing`), on SQLite and PostgreSQL: what the ledger moves on
the reserve account without a bank order (a loan's own funds, a money-market subscription, an insurer's claims
funding) reaches the sandbox bank as orders netted per counterparty, so at a quiet moment the bank's reserve is the
ledger's without any align, the orders reconcile like any other, and the ledger's audit passes.

The world is the demo's seeded one (`seed_demo_world`, no simulated market), driven over HTTP as a customer and an
operator would; the bank's deliveries are driven by hand (`bank_worker.deliver`), as the server's loop does."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from puhui import clock as puhui_clock
from puhui.app import create_app
from puhui.db import reading
from puhui.demo import seed_demo_world
from puhui.identity.service import with_demo_secrets
from puhui.ledger.audit import audit
from puhui.payments import queries as payment_queries
from puhui.payments import reconciliation, wallets
from puhui.payments.bank import clearing
from puhui.payments.bank import worker as bank_worker
from puhui.payments.tables import bank_orders
from puhui.settings import Settings

LOAN, SUBSCRIPTION, FUNDING = 3000_00, 1000_00, 20_000_00


def _clearing_orders(engine) -> list[dict]:
    query = select(bank_orders).where(bank_orders.c.id.startswith(wallets.CLEARING_PREFIX)).order_by(bank_orders.c.id)
    with reading(engine) as connection:
        return [dict(r) for r in connection.execute(query).mappings()]


def _world(engine, clock):
    quiet = {"fraud_checks": False, "monitoring": False, "merchant_notifications": False}
    settings = with_demo_secrets(Settings(admin_token="clearing-admin-token-0123456789", **quiet))
    world = seed_demo_world(engine, settings)
    app = create_app(engine, settings)
    bank_worker.hand_over(app, engine, settings, world.bank)  # no lifespan: the bank's passes are driven by hand
    clock.advance(minutes=10)
    return world, settings, TestClient(app, base_url="http://demo.test")


def _ok(answer, status: int = 201) -> dict:
    assert answer.status_code == status, answer.text
    return answer.json()


def _customer(client, world) -> dict:
    first = world.customers[0]
    login = _ok(client.post("/v1/customers/login", json={"phone": first["phone"], "password": first["password"]}), 200)
    return {"Authorization": f"Bearer {login['token']}"}


def _borrow(client, me: dict) -> None:
    """A draw on the customer's credit line into the wallet, funded with the platform's own money
    (`reserve.fund_reserve`)."""
    line = _ok(client.get("/v1/lending/lines/me", headers=me), 200)["id"]
    body = {"amount": "3000.00"}
    _ok(client.post(f"/v1/lending/lines/{line}/draws", headers={**me, "Idempotency-Key": "rc-d"}, json=body))


def _subscribe(client, me: dict) -> str:
    """A money-market subscription (申购): the cash leaves the reserve for the fund."""
    fund = _ok(client.get("/v1/wealth/funds", headers=me), 200)[0]["code"]
    body = {"amount": "1000.00"}
    _ok(client.post(f"/v1/wealth/funds/{fund}/subscriptions", headers={**me, "Idempotency-Key": "rc-s"}, json=body))
    return fund


def _fund_claims(client, settings, insurer: str) -> None:
    """The insurer wires money in for the claims the platform pays on its behalf (理赔备付金)."""
    admin = {"Authorization": f"Bearer {settings.admin_token}", "Idempotency-Key": "rc-f"}
    _ok(client.post(f"/v1/insurance/insurers/{insurer}/funding", headers=admin, json={"amount": "20000.00"}))


def _settle(engine, bank, clock, settings) -> None:
    """The bank's delay passes; it settles and notifies, as the server's delivery loop does."""
    clock.advance(seconds=settings.sandbox_bank_delay_seconds + 1)
    bank_worker.deliver(engine, bank)


def test_the_days_reserve_movements_reach_the_bank_as_clearing_orders_without_any_align(engine, clock):
    world, settings, client = _world(engine, clock)
    bank = world.bank
    # the seeding's own movements (the insurer's claims float) went the same way: nothing was ever put on the
    # reserve account from outside the bank's orders
    assert bank.reserve_balance == bank_worker.reserve_on_ledger(engine)
    assert bank.books().reserve_funded == 0 and bank.audit() == []
    seeded = _clearing_orders(engine)
    assert [(o["kind"], o["status"]) for o in seeded] == [("debit_card", "posted")]

    me = _customer(client, world)
    _borrow(client, me)
    fund = _subscribe(client, me)
    _fund_claims(client, settings, world.insurer)
    drift = bank_worker.reserve_on_ledger(engine) - bank.reserve_balance
    assert drift == LOAN - SUBSCRIPTION + FUNDING  # the books moved; the bank has not heard of it yet

    made = bank_worker.clear_reserve(engine, bank)
    by_counterparty = {o["card_id"]: (o["kind"], o["amount"]) for o in made}
    held = next(o["card_id"] for o in seeded)
    assert held.startswith(f"insurer.{world.insurer}") and by_counterparty[held] == ("debit_card", FUNDING)
    assert by_counterparty["platform.operating_bank.CNY"] == ("debit_card", LOAN)  # the platform's own account
    assert by_counterparty[f"mmf.{fund}.portfolio"] == ("credit_card", SUBSCRIPTION)  # the fund's custodian
    assert len(made) == 3
    _settle(engine, bank, clock, settings)

    assert bank.reserve_balance == bank_worker.reserve_on_ledger(engine)
    assert bank.books().reserve_funded == 0 and bank.audit() == []
    assert {o["status"] for o in _clearing_orders(engine)} == {"posted"}
    assert bank_worker.clear_reserve(engine, bank) == []  # nothing moved since: nothing more to send
    with reading(engine) as connection:
        report = audit(connection)
    assert report.ok, report.violations

    today = puhui_clock.business_date()
    with reading(engine) as connection:  # the platform's own: no customer's movement for monitoring and reports
        posted = payment_queries.posted_bank_orders_between(connection, *puhui_clock.day_bounds(today))
    assert posted and not [o for o in posted if o["id"].startswith(wallets.CLEARING_PREFIX)]
    clock.advance(days=1)
    found = reconciliation.reconcile(engine, today, bank.statement(today))
    assert found == []
    lines = {line.split(",")[1] for line in bank.statement(today).splitlines()[1:]}
    assert {o["id"] for o in made} <= lines  # on the bank's statement, each matched to its order


def test_a_clearing_order_the_bank_fails_is_sent_again_and_moves_nothing_in_the_books(engine, clock):
    world, settings, client = _world(engine, clock)
    bank = world.bank
    _subscribe(client, _customer(client, world))
    on_ledger = bank_worker.reserve_on_ledger(engine)
    held = bank.reserve_balance
    bank.align_reserve(0, "test: the reserve account is empty")  # the bank cannot pay the fund now

    [first] = bank_worker.clear_reserve(engine, bank)
    _settle(engine, bank, clock, settings)
    [failed] = [o for o in _clearing_orders(engine) if o["id"] == first["id"]]
    assert (failed["id"], failed["status"], failed["failure_reason"]) == (first["id"], "voided", "reserve_insufficient")
    assert bank_worker.reserve_on_ledger(engine) == on_ledger  # the books keep the subscription: it happened

    bank.fund_reserve(held, "test: the reserve account is funded again")
    assert bank_worker.clear_reserve(engine, bank) == []  # not at once: a minute after its failure
    clock.advance(seconds=clearing.retry_wait_seconds(1))
    [again] = bank_worker.clear_reserve(engine, bank)
    assert (again["id"], again["kind"], again["amount"]) == (f"{first['id']}.1", "credit_card", SUBSCRIPTION)
    _settle(engine, bank, clock, settings)
    assert bank_worker.clear_reserve(engine, bank) == []
    assert bank.reserve_balance == bank_worker.reserve_on_ledger(engine) and bank.audit() == []
    with reading(engine) as connection:
        assert audit(connection).ok


def test_a_bank_that_keeps_failing_an_order_is_asked_again_less_and_less_often(engine, clock, caplog):
    world, settings, client = _world(engine, clock)
    bank = world.bank
    _subscribe(client, _customer(client, world))
    bank.align_reserve(0, "test: the reserve account stays empty")
    [first] = bank_worker.clear_reserve(engine, bank)
    _settle(engine, bank, clock, settings)  # the bank fails it: its reserve account is empty
    sent = [first["id"]]
    for _ in range(6 * 60 * 6):  # six hours of passes every 10 seconds
        clock.advance(seconds=10)
        for order in bank_worker.clear_reserve(engine, bank):
            sent.append(order["id"])
            _settle(engine, bank, clock, settings)  # failed again
    # sent at about 1, 2, 4, 8, 16, 32 minutes after each failure, then hourly: not 2,000 times
    assert sent[:4] == [first["id"], f"{first['id']}.1", f"{first['id']}.2", f"{first['id']}.3"]
    assert 9 <= len(sent) <= 13, sent
    assert [o["status"] for o in _clearing_orders(engine)].count("voided") == len(sent)
    assert [r.levelname for r in caplog.records if "failed 5 times" in r.getMessage()] == ["ERROR"]
    with reading(engine) as connection:
        assert audit(connection).ok


def test_the_retry_wait_doubles_from_a_minute_to_an_hour():
    assert [clearing.retry_wait_seconds(n) for n in range(1, 9)] == [60, 120, 240, 480, 960, 1920, 3600, 3600]


def test_the_counterparty_accounts_are_corporate_accounts_known_again_on_a_resubmission():
    number = clearing.account_number("mmf.PH0001.portfolio")
    assert number == clearing.account_number("mmf.PH0001.portfolio") != clearing.account_number("mmf.PH0002.portfolio")
    assert len(number) == 20 and number.isdigit()
    lookup = clearing.with_counterparties(lambda owner, card: f"card of {owner}")
    assert lookup is not None
    assert lookup(clearing.OWNER, "mmf.PH0001.portfolio") == number
    assert lookup("cus_1", "card_1") == "card of cus_1"
    assert clearing.with_counterparties(None) is None


def test_a_bank_the_platform_never_aligned_is_left_alone(engine):
    assert bank_worker.clear_reserve(engine, object()) == []
    assert bank_worker.clear_reserve(engine, None) == []
