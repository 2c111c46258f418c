"""Credit scoring on platform data, on SQLite and PostgreSQL: a world of customers built through the
services (steady shoppers, and customers who cash out at night), profiles as of an observation
time labelled with later outcomes, a scorecard trained on them through the CLI, and customers
scored by id over HTTP with reasons in the platform's own feature names."""

from __future__ import annotations

import csv
import random

import pytest
from fastapi.testclient import TestClient
from stdnum.cn import ric
from typer.testing import CliRunner

from puhui import clock as clock_module
from puhui.app import create_app
from puhui.cli import app as cli
from puhui.identity import customers as customer_ops
from puhui.identity import kyc
from puhui.identity.models import VerificationChannel
from puhui.payments.bank.channel import OrderKind, OrderState
from puhui.risk import features as F
from puhui.risk.scoring import platform
from puhui.settings import Settings
from tests.risk.test_features_profiles import ADMIN, VAULT, World

CUSTOMERS = 40
runner = CliRunner()


class Platform(World):
    def customer(self, verified: bool = True) -> str:  # many people, each with a valid ID number
        i = len(self.customers)
        body = f"31010419{80 + i % 15:02d}{1 + i % 12:02d}{1 + i % 28:02d}{100 + i:03d}"
        data = customer_ops.prepare_registration(
            name=f"测试{chr(0x4E00 + i)}",
            id_number=body + ric.calc_check_digit(body + "0"),
            phone=f"1390000{i:04d}",
            password="correct horse battery",
        )
        cid = self.run(lambda uow: customer_ops.register(uow, VAULT, data))
        for channel in ("public_security", "bank_card", "face"):
            self.run(
                lambda uow, c=channel: kyc.record_verification(
                    uow, cid, VerificationChannel(c), f"R-{cid}-{c}", True, ADMIN
                )
            )
        self.run(lambda uow: kyc.upgrade_tier(uow, cid, ADMIN, "verified"))
        self.customers.append(cid)
        return cid


def build(engine, clock) -> tuple[Platform, dict[str, int], int]:
    """Even customers shop steadily by day; odd ones top up, cash out and pay at night. Outcomes
    follow the behaviour with 10% of labels flipped, so the model has something real to learn."""
    w = Platform(engine, clock)
    shops = [w.merchant(), w.merchant()]
    rng = random.Random(7)
    labels = {}
    people = [w.customer() for _ in range(CUSTOMERS)]
    w.later(hours=1)
    for cid in people:
        w.bank(cid, OrderKind.debit_card, rng.randrange(1_500_00, 3_000_00))
    for _ in range(20):
        w.later(hours=24)
        for i, cid in enumerate(people):
            if i % 2 == 0 and rng.random() < 0.6:
                w.qr_pay(cid, shops[i % 2], rng.randrange(5_00, 40_00), f"dev-{cid}", "SH")
    w.later(hours=15)  # 23:30 China time: the night shift
    for i, cid in enumerate(people):
        if i % 2 == 1:
            for _ in range(3):
                w.later(minutes=40)
                w.qr_pay(cid, shops[0], rng.randrange(20_00, 60_00), f"dev-{i}-{rng.randrange(9)}", "XX")
            w.bank(cid, OrderKind.credit_card, 300_00)
            w.bank(cid, OrderKind.debit_card, 900_00, OrderState.failed)
    observed = clock_module.now_micros()
    for i, cid in enumerate(people):
        bad = i % 2 == 1
        labels[cid] = int(not bad if rng.random() < 0.1 else bad)
    return w, labels, observed


@pytest.fixture
def world(engine, clock):
    return build(engine, clock)


def test_train_on_platform_profiles_and_score_customers(engine, clock, world, db_url, tmp_path):
    w, labels, observed = world
    dataset = platform.platform_dataset(engine, observed, labels)
    assert set(dataset.X.columns) <= set(F.FEATURES) and "max_days_past_due" not in dataset.X.columns
    assert dataset.rows == CUSTOMERS

    day = clock_module.from_micros(observed).astimezone(clock_module.CHINA).date()
    path = tmp_path / "labels.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["customer_id", "bad"])
        writer.writerows(labels.items())
    trained = runner.invoke(
        cli,
        [
            "risk",
            "train",
            "--platform",
            "--as-of",
            day.isoformat(),
            "--labels",
            str(path),
            "--folds",
            "3",
            "--out",
            str(tmp_path / "card"),
            "--db",
            db_url,
        ],
    )
    assert trained.exit_code == 0, trained.output
    model_id = trained.output.strip().splitlines()[-1]
    assert "platform_credit" in trained.output
    assert runner.invoke(cli, ["risk", "promote", model_id, "--db", db_url]).exit_code == 0

    settings = Settings(
        admin_token="admin-token",
        pii_keys="k1:" + "MTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTE=",
        pii_index_key="aWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWk=",
        jwt_secret="j" * 48,
    )
    with TestClient(create_app(engine, settings, run_expiry=False)) as client:
        admin = {"Authorization": "Bearer admin-token"}
        scores = {}
        for cid in w.customers[:10]:
            answer = client.post(f"/v1/risk/customers/{cid}/score", headers=admin, json={})
            assert answer.status_code == 200, answer.text
            scores[cid] = answer.json()
        steady = [scores[c]["score"] for i, c in enumerate(w.customers[:10]) if i % 2 == 0]
        night = [scores[c]["score"] for i, c in enumerate(w.customers[:10]) if i % 2 == 1]
        assert min(steady) > max(night)  # the cash-out-at-night customers score lower
        reasons = scores[w.customers[1]]["reasons"]
        assert reasons and all(r["feature"] in F.FEATURES for r in reasons)
        unknown = client.post("/v1/risk/customers/cus_nobody/score", headers=admin, json={})
        assert unknown.status_code == 404 and unknown.json()["code"] == "unknown_customer"


def test_platform_training_needs_labels(engine, clock, world, db_url, tmp_path):
    _, labels, observed = world
    path = tmp_path / "labels.csv"
    path.write_text("customer,outcome\nx,1\n")
    refused = runner.invoke(
        cli, ["risk", "train", "--platform", "--as-of", "2026-01-30", "--labels", str(path), "--db", db_url]
    )
    assert refused.exit_code == 2 and "missing_label" in refused.output
    listed = runner.invoke(cli, ["risk", "models", "--db", db_url, "--json"])
    assert listed.exit_code == 0 and "platform_credit" not in listed.output
