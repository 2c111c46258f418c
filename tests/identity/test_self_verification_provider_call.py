"""The verification provider of a customer's own check (自助实名认证) is a network call of seconds, so it is asked
with no transaction open and off the event loop: nobody holds the customer's row (nor, on SQLite, the write lock)
while it answers. What may change meanwhile is checked again when the answer is recorded: a channel that passed
meanwhile is 409 `channel_already_verified`, today's failures reaching the limit meanwhile 429, and neither
records the answer. A retry with the same Idempotency-Key is answered from the stored answer without asking the
provider again; a provider that cannot answer records nothing (503). While a check's provider answers, the check is
held as running: the same request sent again then, or a check that could pass today's limit, is refused before it
asks (409 `verification_in_progress`). On both backends."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import select

from puhui import clock as clock_module
from puhui.db import reading, transaction
from puhui.db.tables import audit_log
from puhui.identity import customers as customer_ops
from puhui.identity import kyc, self_kyc
from puhui.identity.errors import VerificationProviderUnavailable
from puhui.identity.models import VerificationChannel
from puhui.identity.tables import verification_checks_running, verifications
from puhui.identity.verifier import Answer

from .helpers import ZHANG, snapshot
from .providers import Probing, row_is_free
from .test_self_verification import VERIFY, is_problem, own_identity, rows, sandbox, zhang  # noqa: F401 - fixtures


@dataclass(frozen=True)
class Counter:
    """Staff at the counter (an `Actor`), recording a check of their own meanwhile."""

    id: str = "staff_counter"
    role: str = "operator"


def _probing(client, engine, customer_id: str, **given) -> Probing:  # type: ignore[no-untyped-def]
    provider = Probing(engine, customer_id, **given)
    client.app.state.verifier = provider
    return provider


def _refusals(engine, customer_id: str) -> list[tuple[int, str | None]]:  # type: ignore[no-untyped-def]
    """The customer's self-verification calls in the audit log: (status, error code)."""
    c = audit_log.c
    with reading(engine) as connection:
        found = connection.execute(
            select(c.status_code, c.detail)
            .where(c.principal == customer_id, c.action == "identity.self_verification")
            .order_by(c.seq)
        )
        return [(status, json.loads(detail).get("error") if detail else None) for status, detail in found]


def test_the_probe_sees_a_row_held_by_a_unit_of_work(engine, clock, sandbox, zhang) -> None:  # type: ignore[no-untyped-def]
    """What the provider double checks means something: while a unit of work holds the row, the probe fails."""
    customer_id, _, _ = zhang
    seen: list[bool] = []

    def holding(uow) -> None:  # type: ignore[no-untyped-def]
        customer_ops.require_active(uow.connection, customer_id, lock=True)
        seen.append(row_is_free(engine, customer_id))

    transaction(engine, holding)
    assert seen == [False] and row_is_free(engine, customer_id)


def test_the_provider_is_asked_with_no_transaction_open_and_off_the_event_loop(engine, sandbox, zhang) -> None:  # type: ignore[no-untyped-def]
    customer_id, me, card_id = zhang
    provider = _probing(sandbox, engine, customer_id)
    for body in (own_identity(), {"channel": "bank_card", "card_id": card_id}):
        answer = sandbox.post(VERIFY, headers=me, json=body)
        assert answer.status_code == 201, answer.text
        assert answer.json()["verification"]["passed"] is True
    assert provider.calls == 2
    assert provider.row_free == [True, True]  # nobody held the customer's row (nor SQLite's write lock)
    assert provider.on_loop == [False, False]  # a worker thread: the event loop went on serving
    assert rows(engine, customer_id) == [("public_security", True, customer_id), ("bank_card", True, customer_id)]


def test_a_retry_with_the_same_key_replays_without_asking_the_provider_again(engine, sandbox, zhang) -> None:  # type: ignore[no-untyped-def]
    customer_id, me, _ = zhang
    provider = _probing(sandbox, engine, customer_id, answer=Answer(False, "NO", "not_confirmed"))
    keyed = {**me, "Idempotency-Key": "check-1"}
    first = sandbox.post(VERIFY, headers=keyed, json=own_identity())
    again = sandbox.post(VERIFY, headers=keyed, json=own_identity())
    assert first.status_code == again.status_code == 201, again.text
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert provider.calls == 1  # the stored answer, not a second question
    assert rows(engine, customer_id) == [("public_security", False, customer_id)]
    reused = sandbox.post(VERIFY, headers=keyed, json={**own_identity(), "channel": "tax"})
    is_problem(reused, 422, "idempotency_key_reused")
    bad_key = sandbox.post(VERIFY, headers={**me, "Idempotency-Key": "x" * 129}, json=own_identity())
    is_problem(bad_key, 422, "invalid_idempotency_key")
    assert provider.calls == 1 and len(rows(engine, customer_id)) == 1  # neither asked the provider
    assert _refusals(engine, customer_id)[-1] == (422, "idempotency_key_reused")  # refusals still audited


def test_a_channel_that_passed_meanwhile_is_refused_and_the_answer_not_recorded(engine, sandbox, zhang) -> None:  # type: ignore[no-untyped-def]
    customer_id, me, _ = zhang
    state: dict[str, object] = {}

    def counter_passes_it() -> None:
        transaction(
            engine,
            lambda uow: kyc.record_verification(
                uow, customer_id, VerificationChannel.public_security, "COUNTER-1", True, Counter()
            ),
        )
        state["after"] = {**snapshot(engine), "verification_checks_running": []}  # its hold then ends

    provider = _probing(sandbox, engine, customer_id, meanwhile=counter_passes_it)
    refused = sandbox.post(VERIFY, headers={**me, "Idempotency-Key": "race-1"}, json=own_identity())
    is_problem(refused, 409, "channel_already_verified")
    assert provider.calls == 1 and snapshot(engine) == state["after"]  # the answer was not recorded
    assert rows(engine, customer_id) == [("public_security", True, "staff_counter")]
    assert _refusals(engine, customer_id) == [(409, "channel_already_verified")]
    again = sandbox.post(VERIFY, headers={**me, "Idempotency-Key": "race-1"}, json=own_identity())
    is_problem(again, 409, "channel_already_verified")  # a refusal is not stored: refused afresh, not asked
    assert provider.calls == 1


def test_failures_reaching_the_limit_meanwhile_are_refused_and_the_answer_not_recorded(engine, sandbox, zhang) -> None:  # type: ignore[no-untyped-def]
    customer_id, me, _ = zhang
    state: dict[str, object] = {}

    def other_checks_fail() -> None:  # the customer's other requests, failing while this one is asked
        failed = [
            {
                "customer_id": customer_id,
                "channel": "mobile_operator",
                "reference": f"ELSEWHERE-{n}",
                "passed": False,
                "reason": "details_mismatch",
                "recorded_by": customer_id,
                "at": clock_module.now_micros(),
            }
            for n in range(self_kyc.MAX_FAILURES_PER_DAY)
        ]
        transaction(engine, lambda uow: uow.execute(verifications.insert(), failed))
        state["after"] = {**snapshot(engine), "verification_checks_running": []}  # its hold then ends

    provider = _probing(sandbox, engine, customer_id, meanwhile=other_checks_fail)
    refused = sandbox.post(VERIFY, headers=me, json=own_identity())
    is_problem(refused, 429, "too_many_verification_attempts")
    assert int(refused.headers["Retry-After"]) > 0
    assert provider.calls == 1 and snapshot(engine) == state["after"]
    assert [r[0] for r in rows(engine, customer_id)] == ["mobile_operator"] * self_kyc.MAX_FAILURES_PER_DAY


def test_a_provider_that_cannot_answer_records_nothing_and_the_key_runs_again(engine, sandbox, zhang) -> None:  # type: ignore[no-untyped-def]
    customer_id, me, _ = zhang
    provider = _probing(sandbox, engine, customer_id, raises=VerificationProviderUnavailable("timed out"))
    before = snapshot(engine)
    keyed = {**me, "Idempotency-Key": "down-1"}
    is_problem(sandbox.post(VERIFY, headers=keyed, json=own_identity()), 503, "verification_provider_unavailable")
    assert snapshot(engine) == before and provider.row_free == [True]
    assert _refusals(engine, customer_id) == [(503, "verification_provider_unavailable")]
    provider.raises = None  # back up: the same key is carried out (a refusal is not stored)
    answer = sandbox.post(VERIFY, headers=keyed, json=own_identity())
    assert answer.status_code == 201 and "Idempotent-Replayed" not in answer.headers
    assert provider.calls == 2 and rows(engine, customer_id) == [("public_security", True, customer_id)]


def test_a_mismatch_asks_no_provider_and_a_refusal_before_it_asks_none(engine, sandbox, zhang) -> None:  # type: ignore[no-untyped-def]
    customer_id, me, _ = zhang
    provider = _probing(sandbox, engine, customer_id)
    mismatch = sandbox.post(VERIFY, headers=me, json={"channel": "mobile_operator", "phone": "13900000000"})
    assert mismatch.status_code == 201 and mismatch.json()["reason"] == "details_mismatch"
    card = sandbox.post(VERIFY, headers=me, json={"channel": "bank_card", "card_id": "card_0000000000000000"})
    is_problem(card, 404, "card_not_found")
    is_problem(sandbox.post(VERIFY, headers=me, json={**own_identity(), "name": "张3丰"}), 422, "invalid_name")
    assert provider.calls == 0
    assert rows(engine, customer_id) == [("mobile_operator", False, customer_id)]
    assert [code for _, code in _refusals(engine, customer_id)] == [None, "card_not_found", "invalid_name"]
    assert ZHANG["phone"] not in card.text


def _running(engine) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """The checks held as running: (customer, channel)."""
    c = verification_checks_running.c
    with reading(engine) as connection:
        return [tuple(r) for r in connection.execute(select(c.customer_id, c.channel))]


def test_the_same_request_sent_again_while_the_provider_answers_asks_it_once(engine, sandbox, zhang) -> None:  # type: ignore[no-untyped-def]
    """A client that times out and sends its request again at once: the second is refused before it asks (409
    `verification_in_progress`, with Retry-After), and once the first is answered the same key replays it."""
    customer_id, me, _ = zhang
    keyed = {**me, "Idempotency-Key": "twice-1"}
    seen: list = []
    provider = _probing(
        sandbox,
        engine,
        customer_id,
        meanwhile=lambda: seen.append(sandbox.post(VERIFY, headers=keyed, json=own_identity())),
    )
    first = sandbox.post(VERIFY, headers=keyed, json=own_identity())
    assert first.status_code == 201, first.text
    (second,) = seen
    is_problem(second, 409, "verification_in_progress")
    assert 1 <= int(second.headers["Retry-After"]) <= self_kyc.RETRY_SECONDS
    assert provider.calls == 1 and _running(engine) == []  # released once answered
    again = sandbox.post(VERIFY, headers=keyed, json=own_identity())
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert provider.calls == 1 and rows(engine, customer_id) == [("public_security", True, customer_id)]


def test_checks_side_by_side_ask_no_more_than_the_limit_allows(engine, sandbox, zhang) -> None:  # type: ignore[no-untyped-def]
    """With one failure left before today's limit, a check of another channel sent while one runs is refused
    before it asks: the running one may be the last failure. Sent after it, it is refused by the limit (429)."""
    customer_id, me, _ = zhang
    failed = [
        {
            "customer_id": customer_id,
            "channel": "mobile_operator",
            "reference": f"EARLIER-{n}",
            "passed": False,
            "reason": "not_confirmed",
            "recorded_by": customer_id,
            "at": clock_module.now_micros(),
        }
        for n in range(self_kyc.MAX_FAILURES_PER_DAY - 1)
    ]
    transaction(engine, lambda uow: uow.execute(verifications.insert(), failed))
    tax = {**own_identity(), "channel": "tax"}
    seen: list = []
    provider = _probing(
        sandbox,
        engine,
        customer_id,
        answer=Answer(False, "NO", "not_confirmed"),
        meanwhile=lambda: seen.append((sandbox.post(VERIFY, headers=me, json=tax), _running(engine))),
    )
    first = sandbox.post(VERIFY, headers=me, json=own_identity())
    assert first.status_code == 201 and first.json()["verification"]["passed"] is False
    ((beside, held),) = seen
    is_problem(beside, 409, "verification_in_progress")
    assert held == [(customer_id, "public_security")]  # the running one's hold, while it ran
    after = sandbox.post(VERIFY, headers=me, json=tax)
    is_problem(after, 429, "too_many_verification_attempts")
    assert provider.calls == 1 and _running(engine) == []
    assert len(rows(engine, customer_id)) == self_kyc.MAX_FAILURES_PER_DAY


def test_a_hold_left_by_a_request_that_is_gone_is_taken_over(engine, sandbox, zhang) -> None:  # type: ignore[no-untyped-def]
    """A hold older than HOLD_SECONDS is a crashed request's: the next check of the channel runs; not a fresh one."""
    customer_id, me, _ = zhang
    provider = _probing(sandbox, engine, customer_id)

    def left(age_seconds: int) -> None:
        started = clock_module.now_micros() - age_seconds * 1_000_000
        row = {"customer_id": customer_id, "channel": "public_security", "token": "gone", "started_at": started}
        transaction(engine, lambda uow: uow.execute(verification_checks_running.insert(), [row]))

    left(self_kyc.HOLD_SECONDS - 5)
    is_problem(sandbox.post(VERIFY, headers=me, json=own_identity()), 409, "verification_in_progress")
    assert provider.calls == 0 and _running(engine) == [(customer_id, "public_security")]  # not its to release
    transaction(engine, lambda uow: uow.execute(verification_checks_running.delete()))
    left(self_kyc.HOLD_SECONDS + 1)
    answer = sandbox.post(VERIFY, headers=me, json=own_identity())
    assert answer.status_code == 201 and answer.json()["verification"]["passed"] is True
    assert provider.calls == 1 and _running(engine) == []
