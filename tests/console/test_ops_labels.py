"""The back office names things by what they are: a loan's status by the loan's own words (还款中, not the QR
code's 可付款), its overdue bucket (current, M1…M3+ of `puhui.lending.delinquency`) in the page's language,
a credit model's status by its own key, and a merchant's or a fund's name not as a person's (姓名)."""

from __future__ import annotations

import re

from puhui.console import i18n, ops
from puhui.db import transaction
from puhui.lending.delinquency import delinquency_bucket
from puhui.lending.tables import loans
from tests.risk.test_scoring_registry import small  # noqa: F401 - the fixture

from .conftest import customer_id_of, sign_up
from .staff_world import add_staff, log_in
from .test_credit_pages import _open_line
from .world import hidden, merchant_qr, verify

ZH = {"Accept-Language": "zh-CN"}
EN = {"Accept-Language": "en-GB,en;q=0.9"}


def _section(page: str, testid: str) -> str:
    start = page.index(f'data-testid="{testid}"')
    return page[start : page.index("</section>", start)]


def _cells(section: str) -> list[list[str]]:
    """The table's body rows, each a list of its cells."""
    rows = [re.findall(r"<td[^>]*>(.*?)</td>", row, re.S) for row in re.findall(r"<tr>(.*?)</tr>", section, re.S)]
    return [row for row in rows if row]


def _a_loan(client, engine) -> str:  # type: ignore[no-untyped-def]
    """A customer pays a merchant later from a credit line: the loan's id."""
    _, qr_id = merchant_qr(client)
    sign_up(client, 81)
    cid = customer_id_of(client)
    verify(client, cid)
    _open_line(client, engine, cid, "5000.00")
    form = hidden(client.get(f"/app/pay/{qr_id}").text)
    done = client.post(
        f"/app/pay/{qr_id}/later", data={**form, "plan": "pay_later", "amount": "321.00"}, follow_redirects=False
    )
    assert done.status_code == 303, done.text
    return done.headers["location"].rsplit("/", 1)[1]


def test_the_loan_book_names_a_loans_status_and_bucket_in_the_pages_language(client, engine) -> None:  # type: ignore[no-untyped-def]
    loan_id = _a_loan(client, engine)
    log_in(client, add_staff(client, "operator", "op.loan-labels"))

    page = client.get("/ops/loans", headers=ZH).text
    [row] = [r for r in _cells(_section(page, "loans")) if loan_id in r[0]]
    assert row[4:] == ["正常", "正常", "还款中"], row  # bucket, class, status
    assert "可付款" not in page and ">current<" not in page
    assert [r[0] for r in _cells(_section(page, "by-bucket"))] == ["正常"]
    english = client.get("/ops/loans", headers=EN).text
    [row] = [r for r in _cells(_section(english, "loans")) if loan_id in r[0]]
    assert row[4:] == ["current", "normal", "being repaid"], row
    assert "ready to pay" not in english

    overdue = loans.update().where(loans.c.id == loan_id).values(days_past_due=12, bucket="M1")
    transaction(engine, lambda uow: uow.execute(overdue))
    page = client.get("/ops/loans", headers=ZH).text
    [row] = [r for r in _cells(_section(page, "loans")) if loan_id in r[0]]
    assert row[4] == "M1（逾期1–30天）", row
    assert [r[0] for r in _cells(_section(page, "by-bucket"))] == ["M1（逾期1–30天）"]
    english = client.get("/ops/loans", headers=EN).text
    assert "M1 (1–30 days overdue)" in _section(english, "loans")


def test_every_bucket_lending_gives_is_named_in_both_languages_least_overdue_first() -> None:
    given = {delinquency_bucket(days) for days in range(0, 400)}
    assert given == set(ops.BUCKET_ORDER)
    assert sorted(given, key=ops.bucket_rank) == ["current", "M1", "M2", "M3", "M3+"]
    for locale in i18n.LOCALES:
        catalogue = i18n.translations(locale)
        for bucket in ops.BUCKET_ORDER:
            assert catalogue.gettext("bucket:" + bucket) != "bucket:" + bucket, (locale, bucket)
        for status in ("active", "paid_off", "written_off"):  # the loans table's statuses
            assert catalogue.gettext("loan:" + status) != "loan:" + status, (locale, status)
        for status in ("champion", "challenger", "retired"):  # puhui.risk.scoring.schemas.ModelStatus
            assert catalogue.gettext("model:" + status) != "model:" + status, (locale, status)
    assert i18n.translations("zh_CN").gettext("loan:active") == "还款中"


def test_a_models_status_and_the_names_of_merchants_and_funds_have_their_own_labels(client, engine, small) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from puhui.risk.scoring import service

    trained = service.train(engine, small, "scorecard", folds=2)
    merchant_id, _ = merchant_qr(client)
    log_in(client, add_staff(client, "risk_officer", "ro.labels"))
    models = _section(client.get("/ops/models", headers=ZH).text, "models")
    [row] = [r for r in _cells(models) if f"/ops/models/{trained.record.id}" in r[0]]
    status = i18n.translations("zh_CN").gettext("model:" + trained.record.status)
    assert row[2] == status and not row[2].startswith("model:"), row
    english = _section(client.get("/ops/models", headers=EN).text, "models")
    [row] = [r for r in _cells(english) if f"/ops/models/{trained.record.id}" in r[0]]
    assert row[2] == trained.record.status, row

    for headers, merchant_label, fund_label in ((ZH, "商户名称", "基金名称"), (EN, "Merchant name", "Fund name")):
        merchants = _section(client.get("/ops/merchants", headers=headers).text, "merchants")
        assert merchant_label in merchants and "姓名" not in merchants and merchant_id in merchants
        funds = _section(client.get("/ops/funds", headers=headers).text, "fund-products")
        assert fund_label in funds and "姓名" not in funds
