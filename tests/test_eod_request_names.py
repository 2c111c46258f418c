"""Every end-of-day request names its date `business_date`, on SQLite and PostgreSQL (`puhui.eod.requests`).
Settlement and reconciliation always took it; lending's, the money-market funds' and the funds' end of day
took `date`, securities clearing `trade_day`. Those names are still accepted as deprecated aliases; sending
both names, or neither, is a 422 `invalid_request` problem that runs nothing. The published document shows
`business_date` alone, its description naming the alias as deprecated."""

from __future__ import annotations

import datetime as dt

from puhui.api.contract import spec
from tests.payments.test_settlement import ADMIN, D, client  # noqa: F401 - the HTTP client fixture
from tests.test_eod_day_over import TODAY, busy_day, state_of
from tests.wealth.mmf_world import at

NEXT_DAY = (D + dt.timedelta(days=1)).isoformat()  # a Tuesday, a trading day like TODAY
JOBS = {  # path -> the date's former name, a deprecated alias
    "/v1/lending/eod": "date",
    "/v1/wealth/eod": "date",
    "/v1/wealth/funds-eod": "date",
    "/v1/securities/clearing": "trade_day",
}


def days_run(path: str, answer: dict) -> list[str]:
    """The business dates an answer says it ran."""
    if path == "/v1/wealth/eod":
        return sorted({run["business_date"] for run in answer["runs"]})
    return [answer["business_date"]]


def test_every_end_of_day_request_takes_business_date_and_its_former_name_as_an_alias(client, engine, clock):  # noqa: F811
    busy_day(client, engine, clock)
    clock.set(at((D + dt.timedelta(days=2)).isoformat(), "00:05"))  # TODAY and NEXT_DAY are over
    before = state_of(engine)
    for path, former in JOBS.items():
        refused = [
            {},
            {"business_date": TODAY, former: TODAY},
            {"business_date": TODAY, former: NEXT_DAY},
            {"day": TODAY},
        ]
        for n, body in enumerate(refused):
            answer = client.post(path, headers={**ADMIN, "Idempotency-Key": f"{path}-bad{n}"}, json=body)
            assert (answer.status_code, answer.json()["code"]) == (422, "invalid_request"), (path, body, answer.text)
            assert answer.headers["content-type"].startswith("application/problem+json")
        both = client.post(path, headers=ADMIN, json={"business_date": TODAY, former: TODAY}).json()
        assert "business_date" in both["detail"] and former in both["detail"], both
        for name in ("business_date", former):  # a bad date names the field it was sent in
            bad = client.post(path, headers={**ADMIN, "Idempotency-Key": f"{path}-{name}"}, json={name: "2026-02-30"})
            assert (bad.status_code, bad.json()["code"], bad.json()["field"]) == (422, "date_invalid", name), bad.text
    assert state_of(engine) == before  # nothing ran

    for path, former in JOBS.items():
        new = client.post(path, headers={**ADMIN, "Idempotency-Key": f"{path}-new"}, json={"business_date": TODAY})
        assert new.status_code == 200, (path, new.text)
        assert days_run(path, new.json()) == [TODAY], (path, new.json())
        old = client.post(path, headers={**ADMIN, "Idempotency-Key": f"{path}-old"}, json={former: NEXT_DAY})
        assert old.status_code == 200, (path, old.text)
        assert days_run(path, old.json()) == [NEXT_DAY], (path, old.json())
    ran = {(job, str(day)) for job, day in state_of(engine)["runs"]} - {(job, str(day)) for job, day in before["runs"]}
    jobs = ("lending", "wealth.mmf", "wealth.funds", "securities.clearing")
    assert {(job, day) for job in jobs for day in (TODAY, NEXT_DAY)} <= ran, ran


def test_the_published_end_of_day_requests_name_business_date_alone():
    document = spec()
    schemas = document["components"]["schemas"]
    for path, former in JOBS.items():
        ref = document["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        body = schemas[ref.rsplit("/", 1)[-1]]
        assert list(body["properties"]) == ["business_date"] and body["required"] == ["business_date"], path
        assert body["additionalProperties"] is False, path
        said = body["properties"]["business_date"]["description"]
        assert f"`{former}`" in said and "deprecated alias" in said, (path, said)
    for name in ("SettleIn", "ReconcileIn"):  # the names settlement and reconciliation always took
        assert list(schemas[name]["properties"]) == ["business_date"], name
