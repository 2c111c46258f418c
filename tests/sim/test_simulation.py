"""The market simulator drives the real services: the ledger audits clean, the reserve covers the
wallets, every planted typology leaves labelled payments that exist (structuring just under 50,000 CNY), the
same seed gives the same
world, and bad input changes nothing."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from puhui.db import reading
from puhui.errors import InvalidInput
from puhui.ledger.audit import audit
from puhui.lending.tables import loan_repayments, loans
from puhui.payments import reserve
from puhui.payments.tables import bank_orders, payments
from puhui.sim.cli import app
from puhui.sim.tables import sim_labels, sim_runs
from puhui.sim.typologies import Typology
from puhui.sim.world import Config, simulate
from puhui.wealth.mmf.tables import mmf_orders
from tests.sim import migrated_copy

SMALL = Config(customers=40, days=6, seed=11)


def test_a_small_run_moves_money_through_the_services(engine) -> None:  # type: ignore[no-untyped-def]
    result = simulate(engine, SMALL)
    assert result.audit_ok and result.covered
    with reading(engine) as connection:
        assert audit(connection).ok
        assert reserve.reserve_coverage(connection).covered
        stored = connection.execute(select(sim_labels)).mappings().all()
        paid = set(connection.execute(select(payments.c.id)).scalars())
        orders = set(connection.execute(select(bank_orders.c.id)).scalars())
        lent = set(connection.execute(select(loans.c.id)).scalars())
        lent |= set(connection.execute(select(loan_repayments.c.id)).scalars())
        n_loans = connection.execute(select(func.count()).select_from(loans)).scalar_one()
        n_mmf = connection.execute(select(func.count()).select_from(mmf_orders)).scalar_one()
        run = connection.execute(select(sim_runs)).mappings().one()
    assert run["status"] == "finished" and run["customers"] == 40
    fits = {t.value for t in Typology} - {Typology.dormant.value}  # a month's quiet spell needs a longer run
    assert {r["typology"] for r in stored if r["role"] == "principal"} == fits
    assert sorted((r["customer_id"], r["typology"], r["payment_id"]) for r in stored) == sorted(
        (lb.customer_id, lb.typology, lb.payment_id) for lb in result.labels
    )
    assert {r["payment_id"] for r in stored} <= paid | orders | lent  # real payments, top-ups, loans, repayments
    made = Counter(r["typology"] for r in stored if r["role"] == "principal" and r["payment_id"] in paid)
    once = {"self_financing", "mule_chain", "loan_layering"}  # one loan passed on; one first hop (the rest: mules')
    assert all(made[t] >= (1 if t in once else 2) for t in fits), made  # each really moved money
    assert {k.split(":")[1] for k in result.refused} <= {"InsufficientFunds", "LimitExceeded"}  # no hidden bug
    assert n_loans > 0 and n_mmf > 0 and result.done["qr"] > 0 and result.done["p2p"] > 0
    assert len(result.days) == SMALL.days and all(d.income_per_10k is not None for d in result.days)
    structured = [r["payment_id"] for r in stored if r["typology"] == "structuring" and r["payment_id"] in paid]
    with reading(engine) as connection:
        amounts = connection.execute(select(payments.c.amount).where(payments.c.id.in_(structured))).scalars().all()
    assert amounts and all(48_000_00 <= a < 50_000_00 and a % 100_00 for a in amounts)  # just under, never round


def test_the_same_seed_gives_the_same_world(sqlite_template: Path, tmp_path: Path) -> None:
    runs = []
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        engine = migrated_copy(sqlite_template, tmp_path / f"{name}.db")
        try:
            result = simulate(engine, Config(customers=40, days=4, seed=seed))
        finally:
            engine.dispose()
        labels = Counter((lb.agent, lb.typology, lb.role) for lb in result.labels)
        runs.append((result.totals, labels, dict(result.done), [d.volume for d in result.days]))
    assert runs[0] == runs[1]
    assert runs[0][0] != runs[2][0]  # another seed, another world


def test_too_few_customers_is_refused_and_changes_nothing(engine) -> None:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        before = connection.execute(select(func.count()).select_from(payments)).scalar_one()
    with pytest.raises(InvalidInput):
        simulate(engine, Config(customers=10, days=3, seed=1))
    with reading(engine) as connection:
        assert connection.execute(select(func.count()).select_from(sim_runs)).scalar_one() == 0
        assert connection.execute(select(func.count()).select_from(payments)).scalar_one() == before


def test_the_cli_writes_an_html_report_with_charts(sqlite_template: Path, tmp_path: Path) -> None:
    shutil.copyfile(sqlite_template, tmp_path / "cli.db")
    out = tmp_path / "report.html"
    result = CliRunner().invoke(
        app,
        [
            "--customers",
            "40",
            "--days",
            "2",
            "--seed",
            "3",
            "--db",
            f"sqlite:///{tmp_path / 'cli.db'}",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "ledger audit: passed" in result.output
    page = out.read_text(encoding="utf-8")
    assert "Loan performance by bucket" in page and "The monitor, per laundering typology" in page
    alerts = int(result.output.split(" alerts, ")[0].rsplit(" ", 1)[1])
    assert page.count("data:image/png;base64,") == 4 + (alerts > 0)  # the alerts chart when there are alerts
    for typology in ("structuring", "fund_pool", "cycle", "account_takeover"):
        assert f"<td>{typology}</td>" in page
    bad = CliRunner().invoke(app, ["--customers", "5", "--days", "2", "--out", str(tmp_path / "x.html")])
    assert bad.exit_code != 0 and not (tmp_path / "x.html").exists()
