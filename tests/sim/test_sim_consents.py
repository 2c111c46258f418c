"""The simulator signs its people up through identity's services, not the API: it records the consent a
sign-up gives (`identity.consent.REGISTRATION_CONSENTS`, what `POST /v1/customers` requires and records),
by the customer, so a simulated customer looks like one who signed up through the app."""

from __future__ import annotations

import random

from puhui.db import reading
from puhui.identity.consent import consent_history, has_consent
from puhui.identity.models import ConsentPurpose
from puhui.sim.agents import Agent, Kind, Platform


def test_a_simulated_sign_up_records_the_payments_consent(engine, clock) -> None:  # type: ignore[no-untyped-def]
    platform = Platform(engine, "consents")
    agent = Agent(0, next(iter(Kind)), random.Random(1))
    cid = platform.register(agent, 7)
    with reading(engine) as connection:
        history = consent_history(connection, cid)
        assert has_consent(connection, cid, ConsentPurpose.payments)
    assert [(h["purpose"], h["sensitive"], h["granted"], h["recorded_by"]) for h in history] == [
        ("payments", False, True, cid)  # given by the customer at sign-up, as a self sign-up over the API
    ]
