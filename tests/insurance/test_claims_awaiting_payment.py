"""Approved claims waiting for the insurer's money (待支付赔案), over HTTP on SQLite and PostgreSQL, with
hand-computed figures: staff list them oldest approval first with each insurer's shortfall; funding the
insurer (理赔备付金) pays them in the same unit of work, strictly in turn (the first that does not fit
stops the sweep, a later smaller one waits its turn); staff pay them on demand once money came in some
other way; racing fundings and approvals pay a claim once; the staff console shows them and pays them;
the case reserve of a claim under review is what its medical event may still be compensated. The ledger
audit passes after every scenario.

The insurer holds only Zhang's 299.00 premium (no capital). Three accident claims on his policy (med-e:
deductible 10,000.00, ratio 1 with social insurance), one second apart:
- A: S82, 25,000.00 billed, 5,000.00 by social insurance → 20,000 − 10,000 deductible = 10,000.00;
- B: S52, 30,000.00 billed → the deductible used up: 30,000.00;
- C: T14, 2,000.00 billed → 2,000.00.
All wait: 42,000.00 owed, 299.00 held, shortfall 41,701.00. Funding 12,000.00: held 12,299.00 pays A
(2,299.00 left); B does not fit, so the sweep stops and C (which would fit) waits. Funding 30,000.00:
held 32,299.00 pays B then C, 299.00 left."""

from __future__ import annotations

import datetime as dt
import re
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from threading import Barrier

from sqlalchemy import func, select

from puhui.db import reading, transaction
from puhui.insurance import service
from puhui.insurance.claims import queries
from puhui.insurance.claims import service as claims_service
from puhui.insurance.reserves import service as reserves
from puhui.insurance.settlement import service as settlement
from puhui.ledger.tables import transfers
from tests.console.staff_world import log_in
from tests.console.world import hidden
from tests.identity.helpers import make_staff
from tests.insurance.test_claims_http import CAPITAL, claim, claims_snapshot, insured
from tests.insurance.test_claims_indemnity import TWO_DOCS, created, report, world
from tests.insurance.test_insurance_http import (
    WALLET,
    assert_audit_clean,
    balance,
    call,
    client,  # noqa: F401 - the fixture
    fund,
    problem,
)

AWAITING = "/v1/insurance/claims/awaiting-payment"
PREMIUM = 299_00


def three_waiting(client, engine, clock):  # type: ignore[no-untyped-def]
    """The insurer with only the premium held, and claims A, B, C approved and waiting, in that order."""
    insurer_id, zhang, me, policy = insured(client, engine, clock, fund_insurer=False)
    given = [
        ("a", {"condition": "S82"}),
        ("b", {"condition": "S52", "event_date": "2026-01-11", "billed": "30000.00", "social_insurance_paid": "0.00"}),
        ("c", {"condition": "T14", "event_date": "2026-01-12", "billed": "2000.00", "social_insurance_paid": "0.00"}),
    ]
    made = []
    for key, fields in given:
        clock.advance(seconds=1)
        answer = claim(client, me, key, policy["id"], **fields)
        assert answer.status_code == 201, answer.text
        made.append(answer.json())
    assert [(c["status"], c["benefit"], c["paid_date"]) for c in made] == [
        ("approved", "10000.00", None),
        ("approved", "30000.00", None),
        ("approved", "2000.00", None),
    ]
    assert {tuple(c["reasons"]) for c in made} == {("paid", "insurer_funds_insufficient")}
    return insurer_id, zhang, me, [c["id"] for c in made]


def funding(client, operator: dict, insurer_id: str, key: str, amount: str):  # type: ignore[no-untyped-def]
    return call(client, f"/v1/insurance/insurers/{insurer_id}/funding", operator, key, {"amount": amount})


def paid_once(engine, claim_ids: list[str]) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """How many ledger transfers each claim's payment (`clm.<claim id>`) made."""
    with reading(engine) as connection:
        return {
            c: connection.execute(
                select(func.count()).select_from(transfers).where(transfers.c.id == f"clm.{c}")
            ).scalar_one()
            for c in claim_ids
        }


def test_funding_pays_the_waiting_claims_in_turn_and_stops_at_the_first_that_does_not_fit(client, engine, clock):
    insurer_id, zhang, me, (a, b, c) = three_waiting(client, engine, clock)
    officer = make_staff(client, "risk_officer")
    operator = make_staff(client, "operator", "operator.two")

    listed = client.get(AWAITING, headers=officer)
    assert listed.status_code == 200, listed.text
    waiting = listed.json()
    assert [(w["claim_id"], w["owed"], w["insurer_id"]) for w in waiting["claims"]] == [
        (a, "10000.00", insurer_id),
        (b, "30000.00", insurer_id),
        (c, "2000.00", insurer_id),
    ]
    approved_at = [w["approved_at"] for w in waiting["claims"]]
    assert approved_at == sorted(approved_at) and len(set(approved_at)) == 3  # oldest approval first
    assert waiting["insurers"] == [
        {"insurer_id": insurer_id, "claims": 3, "owed": "42000.00", "held": "299.00", "shortfall": "41701.00"}
    ]
    first_only = client.get(AWAITING, headers=officer, params={"limit": 1, "insurer": insurer_id}).json()
    assert [w["claim_id"] for w in first_only["claims"]] == [a] and first_only["insurers"] == waiting["insurers"]
    assert client.get(AWAITING, headers=me).status_code == 403  # not a claim id read by its customer
    assert client.get(AWAITING, headers=officer, params={"insurer": "nobody"}).json() == {"claims": [], "insurers": []}
    assert client.get(AWAITING, headers=officer, params={"limit": 0}).status_code == 422

    first = funding(client, operator, insurer_id, "f-1", "12000.00")
    assert first.status_code == 201, first.text
    # 12,299.00 held pays A; B (30,000.00) does not fit, so C waits its turn though it would fit
    assert (first.json()["claims_paid"], first.json()["claims_waiting"], first.json()["held"]) == ([a], 2, "2299.00")
    assert balance(engine, f"wallet.{zhang}") == WALLET - PREMIUM + 10_000_00
    paid_a = client.get(f"/v1/insurance/claims/{a}", headers=me).json()
    assert (paid_a["status"], paid_a["reasons"], paid_a["paid_date"]) == ("paid", ["paid"], "2026-01-15")
    assert client.get(f"/v1/insurance/claims/{c}", headers=me).json()["status"] == "approved"
    again = funding(client, operator, insurer_id, "f-1", "12000.00")
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert balance(engine, f"wallet.{zhang}") == WALLET - PREMIUM + 10_000_00
    left = client.get(AWAITING, headers=officer).json()
    assert [w["claim_id"] for w in left["claims"]] == [b, c]
    assert (left["insurers"][0]["owed"], left["insurers"][0]["shortfall"]) == ("32000.00", "29701.00")
    assert_audit_clean(engine)

    second = funding(client, operator, insurer_id, "f-2", "30000.00")
    assert second.status_code == 201, second.text
    assert (second.json()["claims_paid"], second.json()["claims_waiting"], second.json()["held"]) == (
        [b, c],
        0,
        "299.00",
    )
    assert balance(engine, f"wallet.{zhang}") == WALLET - PREMIUM + 42_000_00
    assert balance(engine, service.premium_held_account(insurer_id)) == PREMIUM
    assert paid_once(engine, [a, b, c]) == {a: 1, b: 1, c: 1}
    assert client.get(AWAITING, headers=officer).json() == {"claims": [], "insurers": []}
    assert_audit_clean(engine)


def test_staff_pay_the_waiting_claims_once_money_came_in_another_way(client, engine, clock):
    insurer_id, zhang, me, policy = insured(client, engine, clock, fund_insurer=False)
    waiting = claim(client, me, "claim-1", policy["id"]).json()
    assert (waiting["status"], waiting["benefit"]) == ("approved", "10000.00")
    officer = make_staff(client, "risk_officer")
    path = "/v1/insurance/claims/pay-waiting"

    before = claims_snapshot(engine)
    short = call(client, path, officer, "pw-1", {"insurer_id": insurer_id})
    assert short.status_code == 200, short.text
    assert short.json() == {"insurer_id": insurer_id, "claims_paid": [], "claims_waiting": 1, "held": "299.00"}
    problem(call(client, path, officer, "pw-x", {"insurer_id": "nobody"}), 404, "insurer_not_found")
    assert call(client, path, officer, "pw-y", {}).status_code == 422
    assert call(client, path, officer, "pw-z", {"insurer_id": insurer_id, "amount": "1.00"}).status_code == 422
    assert call(client, path, officer, "pw-w", {"insurer_id": "bad id"}).status_code == 422
    assert call(client, path, me, "pw-me", {"insurer_id": insurer_id}).status_code == 403
    after = claims_snapshot(engine)
    assert {k: v for k, v in after.items() if k != "outbox"} == {k: v for k, v in before.items() if k != "outbox"}

    fund(engine, service.premium_held_account(insurer_id), CAPITAL)  # e.g. premiums, not a funding call
    paid = call(client, path, officer, "pw-2", {"insurer_id": insurer_id})
    assert paid.status_code == 200, paid.text
    held = format(Decimal(PREMIUM + CAPITAL - 10_000_00) / 100, ".2f")
    assert paid.json() == {"insurer_id": insurer_id, "claims_paid": [waiting["id"]], "claims_waiting": 0, "held": held}
    replayed = call(client, path, officer, "pw-2", {"insurer_id": insurer_id})
    assert replayed.json() == paid.json() and replayed.headers["Idempotent-Replayed"] == "true"
    nothing = call(client, path, officer, "pw-3", {"insurer_id": insurer_id}).json()
    assert (nothing["claims_paid"], nothing["claims_waiting"]) == ([], 0)
    assert balance(engine, f"wallet.{zhang}") == WALLET - PREMIUM + 10_000_00
    assert paid_once(engine, [waiting["id"]]) == {waiting["id"]: 1}
    assert_audit_clean(engine)


def test_racing_fundings_and_an_approval_pay_a_waiting_claim_once(client, engine, clock):
    insurer_id, zhang, me, (a, b, c) = three_waiting(client, engine, clock)
    barrier = Barrier(3)

    def act(n: int) -> dict:
        barrier.wait()
        if n < 2:
            return transaction(engine, lambda uow: settlement.fund(uow, insurer_id, 10_000_00, f"race-{n}"))
        return transaction(engine, lambda uow: claims_service.approve(uow, "officer", a, "invoices checked"))

    with ThreadPoolExecutor(3) as pool:
        fundings = [*pool.map(act, range(3))][:2]
    # the approval pays A only once a funding is in, and that funding's sweep has paid A already
    assert [claim_id for answer in fundings for claim_id in answer["claims_paid"]] == [a]
    assert paid_once(engine, [a, b, c]) == {a: 1, b: 0, c: 0}
    # 299.00 + 20,000.00 − A's 10,000.00; B (30,000.00) does not fit, so C waits behind it
    assert balance(engine, service.premium_held_account(insurer_id)) == PREMIUM + 10_000_00
    assert balance(engine, f"wallet.{zhang}") == WALLET - PREMIUM + 10_000_00
    assert [f["claims_waiting"] for f in fundings] == [2, 2]
    assert_audit_clean(engine)


def test_the_staff_console_lists_the_waiting_claims_and_pays_them(client, engine, clock):
    insurer_id, zhang, me, policy = insured(client, engine, clock, fund_insurer=False)
    waiting = claim(client, me, "claim-1", policy["id"]).json()
    officer = make_staff(client, "risk_officer")
    assert log_in(client, officer["Authorization"].removeprefix("Bearer ")).status_code == 303
    page = client.get("/ops/claims")
    assert page.status_code == 200, page.text
    assert 'data-testid="claims-awaiting"' in page.text and waiting["id"] in page.text
    assert "待支付赔案" in page.text and "资金缺口" in page.text and "¥9,701.00" in page.text  # 10,000 − 299

    fund(engine, service.premium_held_account(insurer_id), CAPITAL)
    action = f"/ops/claims/insurers/{insurer_id}/pay-waiting"
    key = re.search(rf'action="{action}" .*?name="key" value="([^"]+)"', page.text, re.S)
    assert key is not None, page.text
    done = client.post(action, data={**hidden(page.text), "key": key.group(1)})
    assert done.status_code == 200, done.text
    assert "已支付 1 件" in done.text and "没有待支付的赔案。" in done.text
    assert 'data-testid="insurer-shortfall"' not in done.text
    assert balance(engine, f"wallet.{zhang}") == WALLET - PREMIUM + 10_000_00
    english = client.get("/ops/claims?lang=en")
    assert "Claims awaiting payment" in english.text and "No claim is waiting for payment." in english.text
    assert_audit_clean(engine)


def test_the_case_reserve_of_a_claim_under_review_is_what_its_event_may_still_be_compensated(client, engine, clock):
    """One 30,000.00 bill (no social insurance) on three policies: X to review on B (no documents), then
    20,000.00 paid on A; X's case estimate is 30,000 − 20,000 = 10,000.00, not the whole bill. Y, a
    15,000.00 bill for the same event on C (no documents), is held at 15,000 − 20,000 → 0.00, never less;
    a claim under review is not taken off another's (each is held at the whole remainder: prudent)."""
    zhang, me, (a, b, c), _ = world(client, engine, clock, (True, False, False))
    x = created(report(client, me, "claim-x", b, documents=[]))
    assert x["status"] == "review"
    day = dt.date(2026, 12, 9)
    with reading(engine) as connection:
        assert [o.case_estimate for o in queries.open_claims(connection, day)] == [Decimal("30000.00")]
    on_a = created(report(client, me, "claim-a", a, documents=TWO_DOCS))
    assert (on_a["status"], on_a["benefit"]) == ("paid", "20000.00")
    y = created(report(client, me, "claim-y", c, billed="15000.00", documents=[]))
    assert y["status"] == "review"
    with reading(engine) as connection:
        estimates = {(o.claim_id, o.case_estimate, o.status) for o in queries.open_claims(connection, day)}
    assert estimates == {(x["id"], Decimal("10000.00"), "review"), (y["id"], Decimal("0.00"), "review")}

    transaction(engine, lambda uow: reserves.run_day(uow, day))
    with reading(engine) as connection:
        booked = reserves.reserves_json(connection, x["insurer_id"], day)
    assert (booked["case_reserve"], booked["paid"]) == ("10000.00", "20000.00")
    assert_audit_clean(engine)
