"""The OpenAPI fuzzer (issue 12): schemathesis generates requests for every operation of the published
schema, valid and invalid ones, and sends them with the admin token to the app on a fresh SQLite
database that holds one customer, one merchant and their money. The app runs as `serve --demo` does
(the sandbox: its clock endpoints are fuzzed too, so the platform time may jump ahead mid-run), and every
other mutating call carries an `Idempotency-Key`, so the stored-answer path is fuzzed as well as the
keyless one. A call the admin may not make (403: a customer's or a merchant's own operation) is sent again
with the customer's session, then with the merchant's API key, so those operations are fuzzed past the door.
Every check schemathesis has runs on every answer (`--checks all`, issue 13): no server error; status, media
type, headers and body as the spec lists them; every request the spec allows accepted and every request it
forbids refused (`positive_data_acceptance`, `negative_data_rejection`), auth not ignored, methods, resources
after delete. A valid request may still be refused with a 422 only for a rule a JSON schema cannot state,
named in BUSINESS_RULES by its stable code with the reason; a body over the size limit (413) counts as
refused. Runs on SQLite only: the storage behaviour under it is tested on both backends elsewhere; here the
question is the HTTP surface.

`pytest tests/api/test_fuzz_openapi.py -s` prints the run's size at the end."""

from __future__ import annotations

import collections
import itertools
import time

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS as ALL_CHECKS
from schemathesis.checks import load_all_checks, negative_data_rejection, positive_data_acceptance
from schemathesis.core.parameters import ParameterLocation
from schemathesis.openapi.checks import RejectedPositiveData

from puhui import clock
from puhui.api.mutations import is_valid_key
from puhui.app import create_app
from puhui.db import create_engine_from_url
from puhui.db.migrate import upgrade
from puhui.demo import CUSTOMERS
from puhui.identity.vault import generate_key
from puhui.sandbox import api as sandbox_api
from puhui.settings import Settings

TOKEN = "fuzz-admin-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
EXAMPLES = 25  # per operation and mode; derandomized, so a run is reproducible
# Valid phone numbers are drawn from a lenient pattern (separators anywhere) under a length limit, which
# Hypothesis meets by rejection: 25 examples of these took 80–150 s of CI. Their rules have their own tests.
FEWER_EXAMPLES = {"POST /v1/customers": 8, "POST /v1/customers/login": 8}
MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
KEYS = itertools.count(1)
STATUSES: collections.Counter[str] = collections.Counter()  # "2xx", "4xx"… of every answer, for the run's size
OPERATIONS_RUN: set[str] = set()
PASSWORD = "correct horse battery"
BUSINESS_RULES = {  # 422 codes a schema-valid request may still get: rules a JSON schema cannot state
    "business_date_too_old": "a first run's date is at most 366 days before today's",
    "business_date_in_future": "a business date may not be after today's",
    "clock_too_far": "the sandbox clock runs at most 100 years ahead of the wall clock",
    "invalid_name": "printable characters by Unicode category (str.isprintable), beyond a JSON-schema regex",
    "purpose_required": "`purpose` is required when `reveal` is true",
    "invalid_notify_url": "a public https address: resolved and checked against private ranges",
    "invalid_discount_rate": "a discount rate above zero and at most the platform's cap",
    "product_invalid": "a loan product's cross-field rules: min ≤ max, the annualized rate under the cap, shares",
    "insurance_product_invalid": "an insurance product's cross-field rules: least premium ≤ most premium ≤ claim",
    "rate_above_cap": "a loan product's annualized rate (IRR of its terms) under the 24% cap",
    "partner_share_too_low": "a joint-lending product's platform share is at least 30%: a rule on `funding`",
    "funding_invalid": "a service fee only on a facilitation product (助贷)",
    "malformed_rule": "a fraud rule's parameters, checked by its kind's own model",
    "unknown_feature": "a fraud rule may name only features the registry has",
    "rule_invalid": "a monitoring rule's parameters, checked by its typology's own model",
    "related_party_invalid": "a lender is not its own related party",
    "dashboard_invalid_range": "the dashboard's range runs forward and spans at most 366 days",
    "statement_range_invalid": "a statement's `from` is not after its `to`",
    "bill_range_invalid": "a wallet statement's `from` is not after its `to`",
    "amount_out_of_range": "a loan's amount within its product's range, which is data",
    "unknown_instalment_plan": "`periods` (3, 6 or 12) go with instalments, not with pay-later",
    "invalid_account": "account flags that exclude each other (debits and credits both capped)",
    "transfers_rejected": "each transfer against the ledger's rules (accounts, chains, pending timeouts)",
    "verification_unsupported": "a verification level the platform cannot prove in this call (a certificate)",
    "invalid_id_number": "the resident ID number's check digit (GB 11643)",
    "customer_under_age": "the age read from the ID number, on today's date",
    "invalid_credit_code": "the unified social credit code's check digit (GB 32100)",
    "invalid_bank_account": "the account number's check digit",
    "invalid_card_number": "the card number's Luhn check digit",
    "nul_character": "no text may hold U+0000 (PostgreSQL cannot store it): one rule for every field, stated once",
    "invalid_fund_figures": "the fund manager's CSV file, row by row",
    "invalid_nav_file": "the NAV CSV file, row by row",
    "nav_not_trading_day": "a NAV's date is a trading day, by the exchanges' calendar (data)",
    "ledger_not_found": "the ledger named must exist",
    "report_no_data": "there must be transactions on the reported date",
    "invalid_answers": "the questionnaire version must be the current one",
    "clock_move_invalid": "exactly one of `advance` or `to`",
}


INCOME_ON_FILE = "the borrower's annual income, declared or on file (data): the one-third-of-income limit needs it"
ORDER_MAXIMUM = {"amount_above_order_maximum": "the largest single bank order, 5,000,000.00 CNY, on a decimal string"}
OPERATION_RULES = {  # the same, for one operation only
    "GET /v1/wallets/me/transactions": {"unknown_transaction_kind": "a wallet's transfer codes are data"},
    "GET /v1/settlements": {  # the query's forms, and a range's order and span, are cross-field rules
        "settlement_query_invalid": "one `business_date`, or `from` and `to` (with `limit`), not both forms",
        "settlement_range_invalid": "a range runs forward and spans at most 92 business dates",
    },
    "POST /v1/lending/applications": {  # the product's terms and the borrower's income and loans are data
        "annual_income_required": INCOME_ON_FILE,
        "term_out_of_range": "a loan's term within its product's range",
        "borrower_limit_exceeded": "the borrower's loans within 300,000 and one third of their income",
        "product_not_for_direct_application": "a pay-later product is drawn through a line, never applied for",
    },
    "POST /v1/lending/lines": {"annual_income_required": INCOME_ON_FILE},
    "POST /v1/customers/{customer_id}/verifications": {
        "reason_only_when_failed": "a `reason` goes with `passed: false` only (a schema cannot tie the two fields)",
    },
    "POST /v1/customers/me/verifications": {  # whether the separate consent (单独同意) stands is data
        "biometric_consent_required": "a face check needs consent to `biometrics`, on file or given with it",
    },
    "POST /v1/merchants/me/top-ups": ORDER_MAXIMUM,
    "POST /v1/merchants/me/refund-funds/withdrawals": ORDER_MAXIMUM,
    "POST /v1/supplychain/core-enterprises/me/payables-funds/top-ups": ORDER_MAXIMUM,
    "POST /v1/supplychain/core-enterprises/me/payables-funds/withdrawals": ORDER_MAXIMUM,
    "PUT /v1/regtech/rules/{code}": {
        "rule_statutory": "a statutory large-value rule (PBOC Order 2016 No. 3) may only be made stricter"
    },
    "POST /v1/regtech/cases/{case_id}/transitions": {
        "dismissal_reason_required": "a case closed as a false positive says why (a note, not blank)"
    },
    "POST /v1/securities/clearing": {"not_a_trading_day": "the exchange's calendar (XSHG trading days) is data"},
    "POST /v1/wealth/fund-products": {
        "short_holding_fee_invalid": "a band of holdings under 7 days charges at least 1.5%, all to the fund (CSRC)"
    },
    "POST /v1/ledger/transfers": {"invalid_amount": "an amount has at most the places of its ledger's scale (data)"},
    "POST /v1/securities/instruments": {"instrument_invalid": "a share code's prefix names its exchange and board"},
    "POST /v1/insurance/policies": {  # the product version's health questions (健康告知) are data
        "health_answers_invalid": "the answers name exactly the version's questions",
        "underwriting_declined": "a yes to a question that declines (拒保)",
        "insured_age_mismatch": "an age sent is the insured's by the birth date in their ID, which is data",
    },
    "POST /v1/insurance/policies/{policy_id}/renew": {
        "health_answers_invalid": "the answers name exactly the version's questions",
        "underwriting_declined": "a yes to a question that declines (拒保)",
    },
    "POST /v1/insurance/claims": {  # the claim against its policy and the day (理赔)
        "claim_amounts_invalid": "social insurance pays at most the amount billed",
        "claim_outside_cover": "the event date within the policy's cover, which is data",
        "claim_event_in_future": "the event date is not after today",
        "claim_date_invalid": "a calendar date (2026-02-30 matches the pattern)",
        "claim_document_invalid": "a document's decoded size within the limit",
    },
    "POST /v1/securities/orders": {  # the exchange's order rules (交易规则), on the instrument's data and the day
        "unknown_instrument": "the instruments listed are data",
        "lot_size_invalid": "the board's lot rule (100s; STAR ≥ 200; an odd lot sold whole)",
        "order_too_large": "the board's largest single order",
        "price_off_tick": "a whole tick (a fen; 厘 for an ETF)",
        "price_required": "a limit order names a price (the schema cannot tie the field to the order's type)",
        "price_not_allowed": "a market order names no price (its protective price goes in `protect`)",
        "protect_not_allowed": "a protective price on a market order only",
        "price_not_positive": "a price above zero (the pattern reads 0 and 0.00 as prices)",
        "price_outside_band": "the day's band from the previous close, which is data",
        "market_order_unbounded": "a market buy of a share without a price limit names a protective price",
        "order_type_not_on_exchange": "a market order of a kind the share's exchange takes (SSE's, SZSE's)",
        "protect_not_on_exchange": "a protective price only on an SSE share's market order",
    },
    "POST /v1/securities/robo/subscriptions": {  # the portfolio's ETFs at today's prices, which are data
        "robo_amount_below_minimum": "the amount buys one lot of every ETF of the portfolio at its weight",
    },
    "POST /v1/securities/corporate-actions": {  # 权益分派: the trading calendar and the instrument's price
        "corporate_action_invalid": "record date a trading day not past, ex-date the next; pays below the price",
        "unknown_instrument": "the instruments listed are data",
    },
}


def accepts_valid_requests(ctx, response, case):  # type: ignore[no-untyped-def]
    """`positive_data_acceptance`, except a 422 whose code is one of BUSINESS_RULES (or the operation's own)."""
    try:
        return positive_data_acceptance(ctx, response, case)
    except RejectedPositiveData:
        code = _problem_code(response)
        if response.status_code == 422 and (
            code in BUSINESS_RULES or code in OPERATION_RULES.get(case.operation.label, {})
        ):
            return None
        raise


def rejects_invalid_requests(ctx, response, case):  # type: ignore[no-untyped-def]
    """`negative_data_rejection`, where a body over the size limit (413) is also a rejection."""
    if response.status_code == 413:
        return None
    return negative_data_rejection(ctx, response, case)


def _problem_code(response) -> str | None:  # type: ignore[no-untyped-def]
    try:
        return response.json().get("code")
    except ValueError:
        return None


load_all_checks()
CHECKS = [
    check for check in ALL_CHECKS.get_all() if check not in (positive_data_acceptance, negative_data_rejection)
] + [accepts_valid_requests, rejects_invalid_requests]  # --checks all: status, media type, headers, body
# against the spec, valid data accepted, invalid rejected, auth not ignored, methods, resources after delete
PEOPLE: dict = {}  # the populated customer's phone and session, the merchant's API key, a client for log-ins


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory):  # type: ignore[no-untyped-def]
    engine = create_engine_from_url(f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'puhui.db'}", durable=False)
    upgrade(engine)
    wall = clock.current()  # the sandbox installs its clock process-wide: put the wall clock back after
    app = create_app(
        engine,
        Settings(
            admin_token=TOKEN,
            pii_keys=f"k1:{generate_key()}",
            pii_index_key=generate_key(),
            jwt_secret="j" * 48,
            sandbox=True,
            fraud_checks=False,
            monitoring=False,
            merchant_notifications=False,
            market_stream_max_seconds=0.05,  # a market-data stream answers and closes at once
        ),
        run_expiry=False,
    )
    try:
        with TestClient(app) as client:
            _populate(client)
            yield app
    finally:
        app.state.sandbox_clock.stop()
        clock.install(wall)
        engine.dispose()


def _populate(client: TestClient) -> None:
    """Something for the generated ids to find now and then: a customer with 10,000.00 in the wallet and a
    merchant, and their credentials for the calls only they may make."""
    name, id_number, phone, _ = CUSTOMERS[0]
    person = {"name": name, "id_number": id_number, "phone": phone, "password": PASSWORD}
    created = client.post("/v1/customers", json={**person, "consents": ["payments"]})
    assert created.status_code == 201, created.text
    PEOPLE["phone"], PEOPLE["client"] = phone, client
    top_up = {
        "id": "fuzz.fund",
        "debit_account_id": "platform.reserve_bank.CNY",
        "ledger": "CNY",
        "code": "top_up",
        "credit_account_id": created.json()["wallet_account_id"],
        "amount": "10000.00",
    }
    funded = client.post("/v1/ledger/transfers", headers=AUTH, json={"transfers": [top_up]})
    assert funded.status_code == 200, funded.text
    shop = {
        "name": "兰州拉面馆",
        "credit_code": "91110000600037341L",
        "settlement_account": "110060774018010012345",
        "settlement_holder": "马晓明",
        "settlement_bank": "交通银行北京分行",
    }
    merchant = client.post("/v1/merchants", headers=AUTH, json=shop)
    assert merchant.status_code == 201, merchant.text
    PEOPLE["merchant"] = {"Authorization": f"Bearer {merchant.json()['api_key']}"}
    PEOPLE["customer"] = customer_session()


def customer_session() -> dict[str, str]:
    """The customer's session (a fresh log-in: the sandbox clock may have run past the last one's expiry)."""
    login = PEOPLE["client"].post("/v1/customers/login", json={"phone": PEOPLE["phone"], "password": PASSWORD})
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['token']}"}


@pytest.fixture(scope="module")
def fuzz_schema(fuzz_app):  # type: ignore[no-untyped-def]
    started = time.monotonic()
    yield schemathesis.openapi.from_asgi("/openapi.json", fuzz_app)
    print(
        f"\nschemathesis: {sum(STATUSES.values())} requests over {len(OPERATIONS_RUN)} operations in "
        f"{time.monotonic() - started:.0f} s; answers by class: {dict(sorted(STATUSES.items()))}"
    )


def operations() -> list[str]:
    """`METHOD /path` of every operation the app publishes in the sandbox (its schema needs no database;
    the sandbox router is added by hand so that collecting the tests installs no clock)."""
    app = create_app(create_engine_from_url("sqlite://"), Settings(), run_expiry=False)
    app.include_router(sandbox_api.router)
    return [f"{method.upper()} {path}" for path, found in app.openapi()["paths"].items() for method in found]


OPERATIONS = operations()


def test_the_fuzzer_covers_the_whole_api():
    assert len(OPERATIONS) >= 150 and "POST /v1/sandbox/clock" in OPERATIONS


def test_the_fuzzed_schema_is_the_published_one(fuzz_app):
    assert sorted(OPERATIONS) == sorted(
        f"{m.upper()} {p}" for p, ops in fuzz_app.openapi()["paths"].items() for m in ops
    )


@pytest.mark.parametrize("mode", list(GenerationMode), ids=lambda mode: mode.value)
@pytest.mark.parametrize("label", OPERATIONS)
def test_no_operation_answers_a_server_error(fuzz_schema, label, mode):
    method, path = label.split(" ", 1)
    operation = fuzz_schema[path][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=FEWER_EXAMPLES.get(label, EXAMPLES),
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case):  # type: ignore[no-untyped-def]
        answer = send(case, method, label, AUTH)
        if answer.status_code != 403:
            return
        answer = send(case, method, label, PEOPLE["customer"])  # the customer's own?
        if answer.status_code == 401:  # the session ran out on the sandbox clock, or was logged out
            PEOPLE["customer"] = customer_session()
            answer = send(case, method, label, PEOPLE["customer"])
        if answer.status_code == 403:  # the merchant's own
            send(case, method, label, PEOPLE["merchant"])

    try:
        run()
    except Unsatisfiable:  # e.g. GET /health takes no input at all: there is no invalid request to send
        pytest.skip(f"{label} has no {mode.value} request")


def send(case, method: str, label: str, credentials: dict[str, str]):  # type: ignore[no-untyped-def]
    """One request, checked by every check. A valid mutating request gets a fresh Idempotency-Key every
    other time and none otherwise (a generated key reused for another body is rightly a 422); an invalid
    header is sent as generated: with the credentials when the key is what is wrong, without them when
    the missing credentials are (the spec requires them)."""
    number = next(KEYS)
    generated = dict(case.headers or {})
    key = generated.get("Idempotency-Key")
    headers = dict(credentials)
    if _invalid(case, ParameterLocation.HEADER):
        if key is None or is_valid_key(key):
            headers = {}  # what is wrong is the missing Authorization
    elif method in MUTATING:
        (case.headers or {}).pop("Idempotency-Key", None)
        if number % 2:
            headers["Idempotency-Key"] = f"fuzz-{number}"
    answer = case.call(headers=headers)
    STATUSES[f"{answer.status_code // 100}xx"] += 1
    OPERATIONS_RUN.add(label)
    case.validate_response(answer, checks=CHECKS, headers={**generated, **headers})
    return answer


def _invalid(case, location: ParameterLocation) -> bool:  # type: ignore[no-untyped-def]
    component = case.meta.components.get(location) if case.meta is not None else None
    return component is not None and not component.mode.is_positive
