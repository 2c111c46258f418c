"""`puhui serve --demo` prepares a living world before it serves: a short simulated market with alerts
of several typologies and open cases, then the seeded world, the ledger audit passing — and a second
start on the same database finds it instead of simulating again.

On its own SQLite file (the demo's embedded database), small (60 customers × 10 days), on a
ManualClock: the simulated days end the day before the start's business date."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from puhui import clock as clock_module
from puhui.app import create_app
from puhui.db import create_engine_from_url, reading, transaction
from puhui.db.migrate import upgrade
from puhui.demo_market import prepare_demo
from puhui.errors import InvalidInput
from puhui.identity.service import with_demo_secrets
from puhui.identity.tables import staff
from puhui.ledger.audit import audit
from puhui.ledger.service import expire_pending
from puhui.payments import reviews
from puhui.regtech.tables import monitor_alerts, monitor_cases
from puhui.settings import Settings
from puhui.sim import world as sim_world
from puhui.sim.tables import sim_runs

CUSTOMERS, DAYS = 60, 10
NOW = dt.datetime(2026, 11, 29, 9, 0, tzinfo=clock_module.UTC)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):  # type: ignore[no-untyped-def]
    engine = create_engine_from_url(f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.db'}", durable=False)
    upgrade(engine)
    settings = with_demo_secrets(Settings(fraud_checks=False, monitoring=False, merchant_notifications=False))
    with clock_module.using(clock_module.ManualClock(NOW)):
        made = prepare_demo(engine, settings, customers=CUSTOMERS, days=DAYS, seed=1)
    yield engine, settings, made
    engine.dispose()


def test_the_demo_world_has_a_simulated_market_alerts_and_cases(demo):
    engine, _, made = demo
    market = made.market
    with reading(engine) as connection:
        runs = connection.execute(select(sim_runs)).mappings().all()
        alerts = dict(
            connection.execute(
                select(monitor_alerts.c.typology, func.count()).group_by(monitor_alerts.c.typology)
            ).all()
        )
        open_cases = connection.execute(
            select(func.count()).select_from(monitor_cases).where(monitor_cases.c.status == "open")
        ).scalar_one()
        report = audit(connection)
    assert [(r["status"], r["customers"], r["days"]) for r in runs] == [("finished", CUSTOMERS, DAYS)]
    assert len(alerts) >= 3, alerts  # several typologies, rule-based and graph-based
    assert market.alerts == alerts and market.open_cases == open_cases > 0
    assert market.fresh and market.done["qr"] > 0 and sum(market.loans.values()) > 0
    assert market.audit_ok and report.ok, report
    assert made.world is not None and len(made.world.customers) == 6


def test_the_summary_names_what_to_look_at(demo):
    _, _, made = demo
    text = made.summary("http://localhost:8765")
    assert f"{CUSTOMERS} customers × {DAYS} days" in text
    for typology, n in made.market.alerts.items():
        assert f"{typology} {n}" in text
    assert f"open cases: {made.market.open_cases}" in text
    assert "http://localhost:8765/v1/regtech/dashboard?from=2026-11-19&to=2026-11-28" in text
    assert made.world.staff[0]["token"] in text and made.world.customers[0]["phone"] in text


def test_the_printed_dashboard_range_shows_the_alerts_to_the_regulator_and_server_loops_break_nothing(demo):
    engine, settings, made = demo
    regulator = {"Authorization": f"Bearer {made.world.staff[0]['token']}"}
    served = settings.model_copy(update={"monitoring": True, "expiry_interval_seconds": 0.05})
    with clock_module.using(clock_module.ManualClock(NOW + dt.timedelta(hours=1))):
        with TestClient(create_app(engine, served)) as client:  # expiry and monitor loops on, as served
            assert client.get("/health").json()["database"] == "ok"
            board = client.get(
                "/v1/regtech/dashboard", headers=regulator, params={"from": "2026-11-19", "to": "2026-11-28"}
            )
            assert board.status_code == 200, board.text
            today = client.get(
                "/v1/regtech/dashboard", headers=regulator, params={"from": "2026-11-29", "to": "2026-11-29"}
            ).json()
        while transaction(engine, expire_pending) > 0:  # what the expiry loop does, to the end
            pass
        transaction(engine, reviews.expire_due)
    figures = board.json()["alerts"]
    assert figures["by_typology"] == made.market.alerts and figures["open_cases"] == made.market.open_cases
    assert today["alerts"]["total"] == 0  # nothing dated at the real time of the start
    with reading(engine) as connection:
        assert audit(connection).ok


def test_the_server_reads_the_simulated_people_and_the_market_ends_yesterday(demo):
    """Regression: the simulator sealed personal data under its own key, so every simulated customer or
    merchant answered 500 `vault_error` ("unknown key 'k1'") on the demo server."""
    from puhui.identity.tables import customers, merchants

    engine, settings, made = demo
    assert (made.market.first, made.market.last) == (dt.date(2026, 11, 19), dt.date(2026, 11, 28))
    settings = settings.model_copy(update={"admin_token": "demo-world-admin-token-0123"})
    admin = {"Authorization": f"Bearer {settings.admin_token}"}
    with reading(engine) as connection:
        people = connection.execute(select(customers.c.id).limit(5)).scalars().all()
        shops = connection.execute(select(merchants.c.id).limit(5)).scalars().all()
    with clock_module.using(clock_module.ManualClock(NOW + dt.timedelta(hours=1))):
        with TestClient(create_app(engine, settings, run_expiry=False)) as client:
            for cid in people:
                answer = client.get(f"/v1/customers/{cid}", headers=admin)
                assert answer.status_code == 200, answer.text
                assert "*" in answer.json()["phone"]  # masked on output
            for mid in shops:
                answer = client.get(f"/v1/merchants/{mid}", headers=admin)
                assert answer.status_code == 200, answer.text


def test_no_demo_customer_is_shown_with_a_phone_or_id_number_in_clear(demo):
    """Regression: the demo's verification references were `DEMO-<phone>-<channel>`, so a view that masks
    the phone (`138****0001`) showed it in clear a few lines below, to staff and the customer alike."""
    from puhui.demo import CUSTOMERS

    engine, settings, made = demo
    settings = settings.model_copy(update={"admin_token": "demo-world-admin-token-0123"})
    admin = {"Authorization": f"Bearer {settings.admin_token}"}
    with clock_module.using(clock_module.ManualClock(NOW + dt.timedelta(hours=1))):
        with TestClient(create_app(engine, settings, run_expiry=False)) as client:
            for person, (_name, id_number, phone, _channels) in zip(made.world.customers, CUSTOMERS, strict=True):
                shown = client.get(f"/v1/customers/{person['id']}", headers=admin)
                assert shown.status_code == 200 and shown.json()["verifications"], shown.text
                assert phone not in shown.text and id_number not in shown.text
                login = {"phone": phone, "password": person["password"]}
                token = client.post("/v1/customers/login", json=login).json()["token"]
                own = client.get("/v1/customers/me", headers={"Authorization": f"Bearer {token}"})
                assert own.status_code == 200 and phone not in own.text and id_number not in own.text


def test_a_second_start_finds_the_world_and_simulates_nothing(demo, monkeypatch):
    engine, settings, made = demo

    def never(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("the simulation ran again")

    monkeypatch.setattr(sim_world, "simulate", never)
    with clock_module.using(clock_module.ManualClock(NOW + dt.timedelta(days=1))):
        again = prepare_demo(engine, settings, customers=CUSTOMERS, days=DAYS, seed=1)
    with reading(engine) as connection:
        assert connection.execute(select(func.count()).select_from(sim_runs)).scalar_one() == 1
        assert connection.execute(select(func.count()).select_from(staff)).scalar_one() == len(made.world.staff)
    assert again.world is None and not again.market.fresh
    assert again.market.run_id == made.market.run_id and again.market.alerts == made.market.alerts
    assert "from an earlier start" in again.summary("http://localhost:8765")


def test_a_bad_size_is_refused_and_changes_nothing(tmp_path):
    engine = create_engine_from_url(f"sqlite:///{tmp_path / 'bad.db'}", durable=False)
    upgrade(engine)
    with pytest.raises(InvalidInput):
        prepare_demo(engine, with_demo_secrets(Settings()), customers=10, days=DAYS)
    with reading(engine) as connection:
        assert connection.execute(select(func.count()).select_from(sim_runs)).scalar_one() == 0
        assert connection.execute(select(func.count()).select_from(staff)).scalar_one() == 0
    engine.dispose()


def test_serve_demo_on_a_prepared_database_prints_the_world_and_serves(demo, monkeypatch, capsys, tmp_path):
    from puhui import server
    from puhui.demo_gate import DemoGate

    engine, settings, made = demo
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    for name in ("PII_KEYS", "PII_INDEX_KEY", "JWT_SECRET"):  # the keys the world was sealed under
        monkeypatch.setenv(f"PUHUI_{name}", getattr(settings, name.lower()))
    served = {}
    monkeypatch.setattr(server.uvicorn, "run", lambda app, **options: served.update(app=app, **options))
    monkeypatch.setattr(sim_world, "simulate", lambda *a, **k: pytest.fail("the simulation ran again"))
    server.run_server(
        host="127.0.0.1",
        port=8765,
        database_url=str(engine.url),
        demo=True,
        demo_customers=CUSTOMERS,
        demo_days=DAYS,
        demo_seed=1,
    )
    gate = served["app"]
    assert served["port"] == 8765 and isinstance(gate, DemoGate)
    with clock_module.using(clock_module.ManualClock(NOW)):
        app = gate._prepare(gate.on_phase)
    before = capsys.readouterr().out
    assert "from an earlier start" not in before  # told once the app answers, not before
    gate._on_ready()
    out = before + capsys.readouterr().out
    assert app.state.engine is not None and app.state.settings.sandbox
    assert "from an earlier start" in out and f"open cases: {made.market.open_cases}" in out
    assert "http://localhost:8765/v1/regtech/dashboard?from=2026-11-19&to=2026-11-28" in out
    assert f"export PUHUI_ENV_FILE={tmp_path / 'puhui' / 'demo' / 'puhui.env'}" in out
    app.state.engine.dispose()


TIME_KEYS = {"at", "as_of", "time"}
MONEY_KEYS = {
    "amount",
    "gross",
    "fees",
    "refunds",
    "net",
    "balance",
    "available",
    "fee",
    "principal",
    "interest",
    "paid",
    "platform_amount",
    "bank_amount",
    "outstanding_principal",
    "refunded",
}


def wire_format_errors(value, where: str = "") -> list[str]:  # type: ignore[no-untyped-def]
    """Every timestamp an ISO 8601 string with its offset, no `*_micros`, every amount a decimal string."""
    found = []
    if isinstance(value, dict):
        for key, inner in value.items():
            at = f"{where}.{key}"
            if key.endswith("_micros"):
                found.append(f"{at}: microseconds on the wire")
            elif key == "params":  # a rule's thresholds (`review_at: 700`) are scores, not times
                continue
            elif (key.endswith("_at") or key in TIME_KEYS) and inner is not None:
                try:
                    ok = isinstance(inner, str) and (
                        dt.datetime.fromisoformat(inner).tzinfo is not None or key == "as_of" and len(inner) == 10
                    )  # a business date
                except ValueError:
                    ok = False
                if not ok:
                    found.append(f"{at}: {inner!r} is not ISO 8601 with an offset")
            elif key in MONEY_KEYS and isinstance(inner, (int, float)) and not isinstance(inner, bool):
                found.append(f"{at}: {inner!r} is not a decimal string")
            found += wire_format_errors(inner, at)
    elif isinstance(value, list):
        for n, inner in enumerate(value[:5]):
            found += wire_format_errors(inner, f"{where}[{n}]")
    return found


def test_every_timestamp_is_iso_8601_and_every_amount_a_decimal_string(demo):
    """Regression: `created_at` was ISO in some answers and integer microseconds in others (merchants,
    payments, settlements, alert evidence, fraud rules), profiles showed `as_of_micros`."""
    from puhui.identity.tables import customers
    from puhui.lending.tables import loans

    engine, settings, made = demo
    settings = settings.model_copy(update={"admin_token": "demo-world-admin-token-0123"})
    admin = {"Authorization": f"Bearer {settings.admin_token}"}
    with reading(engine) as connection:
        someone = connection.execute(select(customers.c.id).limit(1)).scalar_one()
        loan = connection.execute(select(loans.c.id).limit(1)).scalar()
    person, shop = made.world.customers[0], made.world.merchants[0]
    later = NOW + dt.timedelta(hours=2)
    with clock_module.using(clock_module.ManualClock(later)):
        with TestClient(create_app(engine, settings, run_expiry=False)) as client:
            me = {
                "Authorization": "Bearer "
                + client.post(
                    "/v1/customers/login", json={"phone": person["phone"], "password": person["password"]}
                ).json()["token"]
            }
            merchant = {"Authorization": f"Bearer {shop['api_key']}"}
            qr = client.post(
                f"/v1/merchants/{shop['id']}/qr-codes",
                headers=merchant,
                json={"kind": "dynamic", "amount": "9.90", "order_ref": "wire-1"},
            ).json()
            paid = client.post(f"/v1/qr-codes/{qr['id']}/pay", headers={**me, "Idempotency-Key": "wire-pay"}, json={})
            answers = {
                "pay": paid,
                "refund": client.post(
                    f"/v1/payments/{paid.json()['id']}/refunds",
                    headers={**merchant, "Idempotency-Key": "wire-rf"},
                    json={"amount": "1.00"},
                ),
                "p2p": client.post(
                    "/v1/transfers/p2p",
                    headers={**me, "Idempotency-Key": "wire-p2p"},
                    json={"to_customer_id": made.world.customers[1]["id"], "amount": "1.00"},
                ),
            }
            day = (later.astimezone(clock_module.CHINA).date() - dt.timedelta(days=1)).isoformat()
            answers["settle"] = client.post(
                "/v1/settlements", headers={**admin, "Idempotency-Key": "wire-stl"}, json={"business_date": day}
            )
            case = client.get("/v1/regtech/cases?limit=1", headers=admin).json()["cases"][0]["id"]
            for path in [
                "/v1/merchants",
                f"/v1/merchants/{shop['id']}",
                f"/v1/customers/{someone}",
                "/v1/regtech/alerts?limit=20",
                f"/v1/regtech/cases/{case}",
                "/v1/regtech/reports",
                "/v1/regtech/reports/deadlines",
                f"/v1/settlements?business_date={day}",
                "/v1/risk/decisions?limit=20",
                "/v1/risk/rules",
                "/v1/risk/reviews?status=approved",
                f"/v1/risk/profiles/{someone}",
                "/v1/pii-access-log",
                "/v1/events?limit=50",
                f"/v1/ledger/accounts/wallet.{person['id']}/transfers",
                f"/v1/lending/loans/{loan}",
                "/v1/wealth/funds/PH0001",
                "/v1/wealth/funds/PH0001/yields",
                "/v1/regtech/related-parties",
                f"/v1/merchants/{shop['id']}/notifications",
                f"/v1/merchants/{shop['id']}/api-keys",
                "/v1/reconciliation/exceptions?business_date=" + day,
            ]:
                answers[path] = client.get(path, headers=admin)
            for path in ["/v1/wallets/me", "/v1/wealth/orders", "/v1/wealth/holdings", "/v1/wallets/me/top-ups"]:
                answers["me " + path] = client.get(path, headers=me)
    problems = []
    for name, answer in answers.items():
        assert answer.status_code < 300, f"{name}: {answer.status_code} {answer.text[:300]}"
        problems += wire_format_errors(answer.json(), name)
    assert not problems, "\n".join(problems)


def test_a_demo_customer_can_buy_the_demo_medical_policy_at_once(demo):
    """A newcomer finds insurance ready: the demo insurer's 百万医疗 product sells to a demo customer."""
    from puhui.demo import MEDICAL

    engine, settings, made = demo
    settings = settings.model_copy(update={"admin_token": "demo-world-admin-token-0123"})
    person = made.world.customers[0]
    with clock_module.using(clock_module.ManualClock(NOW + dt.timedelta(hours=1))):
        with TestClient(create_app(engine, settings, run_expiry=False)) as client:
            login = client.post("/v1/customers/login", json={"phone": person["phone"], "password": person["password"]})
            me = {"Authorization": f"Bearer {login.json()['token']}"}
            product = client.get(f"/v1/insurance/products/{MEDICAL['code']}/1", headers=me)
            assert product.status_code == 200, product.text
            body = {
                "product_code": MEDICAL["code"],
                "product_version": 1,
                "social_insurance": True,
                "disclosure": "投保须知：等待期30天，免赔额1万元。",
                "confirmations": ["已阅读保险条款"],
                "health_answers": {"hypertension": False, "cancer": False},
            }
            bought = client.post("/v1/insurance/policies", headers={**me, "Idempotency-Key": "demo-buy"}, json=body)
            assert bought.status_code == 201, bought.text
            # priced on the age by the customer's ID (张伟, born 1988-04-12): 38 on the cover start, 18-40 band
            assert (bought.json()["insured_age"], bought.json()["premium"]) == (38, "299.00")


def test_a_liquidity_provider_quotes_the_demo_market_and_a_demo_customer_trades_against_it(demo):
    from puhui.securities import accounts as brokerage
    from puhui.securities import liquidity
    from puhui.wealth.suitability.service import CURRENT

    engine, settings, made = demo
    with reading(engine) as connection:
        [provider] = liquidity.providers(connection)
        assert brokerage.cash(connection, provider) == 100_000_00  # 银证转账 of its Class III top-up
        account = brokerage.find(connection, provider)
        assert account is not None and account["chinext"] and account["star"]  # on its seeded 20-day average
    assert made.world.market_maker in str(made.world)
    monday = dt.datetime(2026, 11, 30, 10, 0, tzinfo=clock_module.CHINA)  # the seeding was on a Sunday
    settings = settings.model_copy(update={"admin_token": "demo-world-admin-token-0123"})
    with clock_module.using(clock_module.ManualClock(monday)):
        assert liquidity.make_markets(engine) > 0  # what the server's market loop does in trading hours
        with TestClient(create_app(engine, settings, run_expiry=False)) as client:
            me = {"Authorization": f"Bearer {login(client, made.world.customers[0])}"}
            experienced = {q.id: max(q.choices, key=lambda c: c.score).key for q in CURRENT.questions}
            for path, key, body in (
                ("/v1/wealth/questionnaire/answers", "assess", {"version": CURRENT.version, "answers": experienced}),
                ("/v1/securities/accounts", "open", {}),  # 投资者适当性: a current questionnaire first
                ("/v1/securities/transfers", "in", {"direction": "in", "amount": "1000.00"}),
            ):
                answer = client.post(path, headers={**me, "Idempotency-Key": key}, json=body)
                assert answer.status_code == 201, answer.text
            ask = client.get("/v1/securities/quotes/510300", headers=me).json()["asks"][0]
            order = {"code": "510300", "side": "buy", "quantity": 100, "price": ask["price"]}
            bought = client.post("/v1/securities/orders", headers={**me, "Idempotency-Key": "buy"}, json=order)
    assert bought.status_code == 201 and bought.json()["status"] == "filled", bought.text
    with reading(engine) as connection:
        assert audit(connection).ok


def login(client, person: dict) -> str:  # type: ignore[no-untyped-def]
    answer = client.post("/v1/customers/login", json={"phone": person["phone"], "password": person["password"]})
    assert answer.status_code == 200, answer.text
    return answer.json()["token"]


def test_the_demo_directory_is_the_owners_alone(monkeypatch, tmp_path):
    """`demo.db` was made 0644 by SQLite: every user of the machine could read the ledger."""
    import stat

    from puhui.demo_home import prepare_home
    from puhui.settings import Settings

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    (tmp_path / "puhui" / "demo").mkdir(parents=True, mode=0o755)
    _, home = prepare_home(Settings(), None)
    assert stat.S_IMODE(home.directory.stat().st_mode) == 0o700
    assert stat.S_IMODE(home.env_file.stat().st_mode) == 0o600
