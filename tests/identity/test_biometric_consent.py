"""Face recognition (人脸识别) processes biometrics, sensitive personal information (PIPL art. 28-29): a customer's
own face check needs their separate consent (单独同意) to `biometrics`. Without it: 422
`biometric_consent_required` naming it, nothing recorded and no provider asked (a consent that is not the separate
one does not count). Given with the check (`biometrics_consent: true`) it is recorded as a consent row in the
check's own transaction, so a check refused or unanswered records neither; a standing one (the consents route)
lets the check run and is not recorded again; withdrawn, the next face check is refused again. On both backends."""

from __future__ import annotations

from sqlalchemy import select

from puhui.db import reading, transaction
from puhui.db.tables import outbox
from puhui.identity import consent
from puhui.identity.errors import VerificationProviderUnavailable
from puhui.identity.models import ConsentPurpose
from puhui.identity.sandbox_verifier import FAILING_LIVENESS
from puhui.identity.tables import consents
from puhui.identity.verifier import Answer

from .helpers import snapshot
from .providers import Probing
from .test_self_verification import LIVENESS, VERIFY, is_problem, rows, sandbox, zhang  # noqa: F401 - fixtures

FACE = {"channel": "face", "liveness_token": LIVENESS}
WITH_CONSENT = {**FACE, "biometrics_consent": True}


def _consent_rows(engine, customer_id: str) -> list[tuple[str, bool, bool, str]]:  # type: ignore[no-untyped-def]
    c = consents.c
    with reading(engine) as connection:
        found = connection.execute(
            select(c.purpose, c.sensitive, c.granted, c.recorded_by).where(c.customer_id == customer_id).order_by(c.seq)
        )
        return [tuple(r) for r in found]


def _provider(client, engine, customer_id: str, **given) -> Probing:  # type: ignore[no-untyped-def]
    provider = Probing(engine, customer_id, **given)
    client.app.state.verifier = provider
    return provider


def _consents_to(client, customer_id: str, me: dict, *, granted: bool, sensitive: bool = True) -> None:  # type: ignore[no-untyped-def]
    body = {"purpose": "biometrics", "granted": granted, "sensitive": sensitive}
    assert client.post(f"/v1/customers/{customer_id}/consents", headers=me, json=body).status_code == 201


def test_without_the_separate_consent_a_face_check_is_refused_and_asks_nobody(engine, sandbox, zhang) -> None:  # type: ignore[no-untyped-def]
    customer_id, me, _ = zhang
    provider = _provider(sandbox, engine, customer_id)
    _consents_to(sandbox, customer_id, me, granted=True, sensitive=False)  # not the separate consent
    before = snapshot(engine)
    for body in (FACE, {**FACE, "biometrics_consent": False}):
        refused = sandbox.post(VERIFY, headers={**me, "Idempotency-Key": "face-1"}, json=body)
        is_problem(refused, 422, "biometric_consent_required")
        assert refused.json()["missing"] == ["biometrics"]
    assert provider.calls == 0 and snapshot(engine) == before and rows(engine, customer_id) == []


def test_consent_given_with_the_check_is_recorded_with_it_as_a_consent(engine, sandbox, zhang) -> None:  # type: ignore[no-untyped-def]
    customer_id, me, _ = zhang
    with reading(engine) as connection:
        events = connection.execute(select(outbox.c.seq)).all()
    answer = sandbox.post(VERIFY, headers=me, json=WITH_CONSENT)
    assert answer.status_code == 201 and answer.json()["verification"]["passed"] is True
    assert rows(engine, customer_id) == [("face", True, customer_id)]
    assert _consent_rows(engine, customer_id)[-1] == ("biometrics", True, True, customer_id)
    standing = sandbox.get("/v1/customers/me", headers=me).json()["consents"]
    assert {"purpose": "biometrics", "sensitive": True, "granted": True} in [
        {k: c[k] for k in ("purpose", "sensitive", "granted")} for c in standing
    ]
    with reading(engine) as connection:
        assert len(connection.execute(select(outbox.c.seq)).all()) == len(events) + 2  # the consent and the check


def test_a_standing_consent_lets_the_check_run_and_is_not_recorded_again(engine, sandbox, zhang) -> None:  # type: ignore[no-untyped-def]
    customer_id, me, _ = zhang
    _consents_to(sandbox, customer_id, me, granted=True)
    given = _consent_rows(engine, customer_id)
    failed = sandbox.post(VERIFY, headers=me, json={**FACE, "liveness_token": FAILING_LIVENESS})
    assert failed.status_code == 201 and failed.json()["reason"] == "not_confirmed"
    again = sandbox.post(VERIFY, headers=me, json=WITH_CONSENT)  # given again with it: it already stands
    assert again.status_code == 201 and again.json()["verification"]["passed"] is True
    assert _consent_rows(engine, customer_id) == given
    assert rows(engine, customer_id) == [("face", False, customer_id), ("face", True, customer_id)]


def test_a_withdrawn_consent_refuses_the_next_face_check(engine, sandbox, zhang) -> None:  # type: ignore[no-untyped-def]
    customer_id, me, _ = zhang
    failed = sandbox.post(VERIFY, headers=me, json={**WITH_CONSENT, "liveness_token": FAILING_LIVENESS})
    assert failed.status_code == 201
    _consents_to(sandbox, customer_id, me, granted=False)  # 撤回同意
    before = snapshot(engine)
    is_problem(sandbox.post(VERIFY, headers=me, json=FACE), 422, "biometric_consent_required")
    assert snapshot(engine) == before


def test_consent_withdrawn_while_the_provider_answers_refuses_the_check(engine, sandbox, zhang) -> None:  # type: ignore[no-untyped-def]
    customer_id, me, _ = zhang
    _consents_to(sandbox, customer_id, me, granted=True)
    state: dict[str, object] = {}

    def withdrawn() -> None:
        transaction(
            engine,
            lambda uow: consent.record_consent(
                uow, customer_id, ConsentPurpose.biometrics, granted=False, sensitive=True, actor=_Self(customer_id)
            ),
        )
        state["after"] = {**snapshot(engine), "verification_checks_running": []}  # its hold then ends

    provider = _provider(sandbox, engine, customer_id, meanwhile=withdrawn)
    is_problem(sandbox.post(VERIFY, headers=me, json=FACE), 422, "biometric_consent_required")
    assert provider.calls == 1 and snapshot(engine) == state["after"] and rows(engine, customer_id) == []


def test_a_face_check_refused_or_unanswered_records_no_consent_either(engine, sandbox, zhang) -> None:  # type: ignore[no-untyped-def]
    customer_id, me, _ = zhang
    provider = _provider(sandbox, engine, customer_id, raises=VerificationProviderUnavailable("down"))
    before = snapshot(engine)
    is_problem(sandbox.post(VERIFY, headers=me, json=WITH_CONSENT), 503, "verification_provider_unavailable")
    assert snapshot(engine) == before and provider.calls == 1

    provider.raises, provider.answer = None, Answer(True, "FACE")
    assert sandbox.post(VERIFY, headers=me, json=WITH_CONSENT).status_code == 201
    _consents_to(sandbox, customer_id, me, granted=False)
    before = snapshot(engine)
    is_problem(sandbox.post(VERIFY, headers=me, json=WITH_CONSENT), 409, "channel_already_verified")
    assert snapshot(engine) == before  # the consent given with a refused check is not recorded
    assert _consent_rows(engine, customer_id)[-1][2] is False and provider.calls == 2


class _Self:
    def __init__(self, id: str) -> None:
        self.id, self.role = id, "customer"
