"""The simulated insurance book is priced on the platform's own age rule, on SQLite and PostgreSQL: each
simulated customer's resident ID number (valid GB 11643 check digit) carries the birth date the simulator
means, their medical policy is bought with no age typed in, and its insured age is their 周岁 on the cover
start by that ID — the simulated person's age — priced in that age's band."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from stdnum.cn import ric

from puhui import clock as clock_module
from puhui.db import reading
from puhui.identity import service as identity
from puhui.insurance.models import age_on
from puhui.insurance.tables import insurance_policies as policies
from puhui.sim.agents import id_number_born
from puhui.sim.insurance import BANDS, Config, InsuranceWorld
from puhui.sim.insurance_people import born_for

CONFIG = Config(customers=40, days=1, seed=7, warmup=12)


def test_born_for_keeps_the_age_through_the_window() -> None:
    import random

    first, last = dt.date(2026, 1, 19), dt.date(2026, 3, 9)
    for n in range(400):
        age = 18 + n % 53
        born = born_for(age, first, last, random.Random(n))
        assert age_on(born, first) == age == age_on(born, last)
        number = id_number_born(born, 1_000_000 + n)
        assert ric.validate(number) == number and ric.get_birth_date(number) == born


def test_simulated_policies_are_priced_on_the_age_in_the_id(engine) -> None:  # type: ignore[no-untyped-def]
    world = InsuranceWorld(engine, CONFIG)
    with clock_module.using(world.clock):
        world.populate()
        for d in range(-CONFIG.warmup, 0):  # the warm-up: the medical policies are bought
            world.day(d)
    bought = [p for p in world.people if p.policy_id is not None]
    assert len(bought) > 10, world.platform.refused
    assert not [k for k in world.platform.refused if "Age" in k or "BirthDate" in k or "Quote" in k]
    with reading(engine) as connection:
        rows = {r["id"]: r for r in connection.execute(select(policies)).mappings()}
        for person in bought:
            row = rows[person.policy_id]
            born = identity.birth_date_of(connection, world.platform.vault, person.customer_id)
            assert born == person.born
            assert row["insured_age"] == age_on(born, row["start_date"]) == person.age
            band = next(b for b in BANDS if b[0] <= person.age <= b[1])
            assert row["premium"] == (band[2] if person.social_insurance else band[3])
