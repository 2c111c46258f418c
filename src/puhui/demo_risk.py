"""The demo's credit model (演示授信模型): a WOE scorecard on the platform's own profile features, registered
and promoted as the platform model (`risk.scoring.platform.PLATFORM_MODEL`), so a demo customer's loan
application gets a graded decision (score, grade, limit) and is never approved without a model.

A fresh platform has no loan outcomes to learn from, so the scorecard is fitted on a seeded sample of
profiles whose outcomes follow behaviours a lender treats as risk signals: paying at night, cashing out
what was topped up, failed bank orders, days past due on earlier loans, and a short tenure. It is the
starting model a risk officer would replace (`puhui risk train --platform`) once the platform has loans
that went well or badly; its model card says what it was fitted on. Fitting it takes about a second.
"""

from __future__ import annotations

import functools
import math
import random

from sqlalchemy import Engine

from puhui.db import UnitOfWork, reading, transaction

SOURCE = "puhui demo: seeded sample of platform profiles with outcomes from risk signals (starter model)"
ROWS, SEED = 1_200, 11
FEATURES = (
    "night_payment_share_30d",
    "withdrawal_to_top_up_ratio_90d",
    "bank_orders_failed_90d",
    "max_days_past_due",
    "tenure_days",
)


def _row(rng: random.Random) -> dict[str, float]:
    """One profile and its outcome: risk signals raise the log-odds of bad, tenure lowers it."""
    risky = rng.random() < 0.25  # a quarter of the sample behaves like the customers lenders lose money on
    row = {
        "night_payment_share_30d": rng.uniform(0.4, 1.0) if risky else rng.uniform(0.0, 0.3),
        "withdrawal_to_top_up_ratio_90d": rng.uniform(0.6, 1.0) if risky else rng.uniform(0.0, 0.7),
        "bank_orders_failed_90d": float(rng.randrange(1, 6) if risky else rng.randrange(0, 2)),
        "max_days_past_due": float(rng.choice((0, 0, 15, 40, 95)) if risky else rng.choice((0, 0, 0, 0, 5))),
        "tenure_days": float(rng.randrange(0, 720)),
    }
    log_odds = (
        -3.2
        + 2.5 * row["night_payment_share_30d"]
        + 1.5 * row["withdrawal_to_top_up_ratio_90d"]
        + 0.4 * row["bank_orders_failed_90d"]
        + 0.03 * row["max_days_past_due"]
        - 0.001 * row["tenure_days"]
    )
    row["bad"] = float(rng.random() < 1 / (1 + math.exp(-log_odds)))
    return row


def sample():  # type: ignore[no-untyped-def]
    """The seeded training sample as a `risk.scoring.data.Dataset` (the same rows every time)."""
    import pandas as pd

    from puhui.risk.scoring.data import from_frame

    rng = random.Random(SEED)
    return from_frame(pd.DataFrame([_row(rng) for _ in range(ROWS)]), "bad", source=SOURCE)


@functools.lru_cache(maxsize=1)
def fitted():  # type: ignore[no-untyped-def]
    """(the sample, the scorecard fitted on it): fitted once a process, as the sample never changes."""
    from puhui.risk.scoring.evaluate import FITTERS

    data = sample()
    return data, FITTERS["scorecard"](data.X, data.y, data.schema)


def register_model(uow: UnitOfWork) -> int:
    """Register the scorecard (`fitted`) under the platform model's name and promote it; its id."""
    from puhui.risk.scoring import registry
    from puhui.risk.scoring.platform import PLATFORM_MODEL

    data, model = fitted()
    card = {
        "kind": "scorecard",
        "data": {"source": data.source, "rows": data.rows, "label": data.label, "bad_rate": round(data.bad_rate, 4)},
        "features": data.schema.as_json(),
        "intended_use": "the demo's starting platform credit model; replace it once loans have outcomes",
    }
    record = registry.register(uow, PLATFORM_MODEL, model, {}, card)
    return registry.promote(uow, record.id).id


def ensure_model(engine: Engine) -> bool:
    """Register and promote the demo model unless a platform model is champion already; True if it did."""
    from puhui.risk.errors import UnknownModel
    from puhui.risk.scoring import registry
    from puhui.risk.scoring.platform import PLATFORM_MODEL

    with reading(engine) as connection:
        try:
            registry.champion(connection, PLATFORM_MODEL)
            return False
        except UnknownModel:
            pass
    transaction(engine, register_model)
    return True
