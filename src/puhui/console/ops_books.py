"""The back office's books (账簿): the ledger explorer (every account kind with its normal balance side,
balances shown with the right sign, paging, an account's history and its balance as of a time), the audit
log (审计日志) with the log of personal data shown in clear, and the credit models' cards with charts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy import Engine, select

from puhui import clock
from puhui.console import charts, i18n, render, svg
from puhui.console.staff import OPS_ROLES, field, form, get, link, section, sections_page, staff_page
from puhui.db import reading
from puhui.db.tables import audit_log

router = APIRouter(include_in_schema=False)
Ident = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:\-]+$")]
PAGE = 50


def signed_balance(account: dict, normal_side: str, kind: str = "posted") -> Decimal:
    """The balance on the account's normal side (正常余额方向): debits − credits for a debit-normal
    account (assets, expenses), credits − debits for a credit-normal one (liabilities, equity, income)."""
    debits, credits = Decimal(account[f"debits_{kind}"]), Decimal(account[f"credits_{kind}"])
    return debits - credits if normal_side == "debit" else credits - debits


async def _chart(request: Request) -> tuple[dict[str, dict], dict[str, dict]]:
    """The chart's account kinds by code and its ledgers (currency or asset, with their scale) by code."""
    chart = await get(request, "/v1/ledger/chart")
    return {c["code"]: c for c in chart["account_codes"]}, {g["code"]: g for g in chart.get("ledgers", [])}


def amount_in(fmt: i18n.Formatter, value: Decimal, ledger: str, ledgers: dict[str, dict]) -> str:
    """An amount in its ledger's unit (账本单位): money in a currency ledger (`¥1,866.15`), shares of a
    security's ledger (`SEC:<code>`) as a count (`100 股`), a fund's units (`FUND:<code>`) as `1,866.15 份`,
    any other asset as the number and the ledger's code."""
    found = ledgers.get(ledger) or {"kind": "currency" if ledger == "CNY" else "asset", "scale": 2}
    if found["kind"] == "currency":
        return fmt.money(value, ledger)
    count = fmt.number(value, int(found["scale"]))
    if ledger.startswith("SEC:"):
        return fmt.gettext("%(count)s shares", count=count)
    if ledger.startswith("FUND:"):
        return fmt.gettext("%(count)s units", count=count)
    return f"{count} {ledger}"


@router.get("/ops/ledger")
@staff_page(("admin",))  # the ledger API is for administrators
async def ledger(
    request: Request,
    code: Annotated[str | None, Query(max_length=64)] = None,
    after: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    fmt, _ = render.formatter(request), render.formatter(request).gettext
    kinds, ledgers = await _chart(request)
    lang_zh = fmt.locale == "zh_CN"
    kind_rows = [
        [
            link(f"/ops/ledger?code={c['code']}", c["code"]),
            c["name_zh"] if lang_zh else c["name"],
            _("category:" + c["category"]),
            _("side:" + c["normal_side"]),
        ]
        for c in kinds.values()
    ]
    page = await get(request, "/v1/ledger/accounts", code=code, after=after, limit=PAGE)
    rows = []
    for a in page["accounts"]:
        side = kinds.get(a["code"], {}).get("normal_side", "debit")
        rows.append(
            [
                link(f"/ops/ledger/{a['id']}", a["id"]),
                a["code"],
                a.get("owner_id") or "—",
                amount_in(fmt, signed_balance(a, side), a["ledger"], ledgers),
                amount_in(fmt, signed_balance(a, side, "pending"), a["ledger"], ledgers),
            ]
        )
    forms = []
    if page.get("next"):
        forms.append(
            form(
                "next",
                "/ops/ledger",
                _("Next page"),
                [field("code", "", "hidden", code or ""), field("after", "", "hidden", page["next"])],
                "get",
            )
        )
    head = [_("Account"), _("Kind"), _("Owner"), _("Balance (normal side)"), _("Pending")]
    return sections_page(
        request,
        _("Ledger"),
        [
            section(
                _("Account kinds"),
                [_("Code"), _("Kind name"), _("Category"), _("Normal balance side")],
                kind_rows,
                id="kinds",
            ),
            section(_("Accounts"), head, rows, forms=forms, id="accounts"),
        ],
    )


TWO_PHASE = {"pending": "held (冻结)", "post_pending": "posts a hold", "void_pending": "voids a hold"}


def posted_effect(transfer: dict, account_id: str, side: str) -> Decimal:
    """What a transfer did to the account's posted balance, on its normal side: a hold (pending) and its
    voiding moved nothing posted (the hold only reserved the amount); posting it moved the amount."""
    flags = set(transfer["flags"])
    if flags & {"pending", "void_pending"}:
        return Decimal(0)
    sign = 1 if (transfer["debit_account_id"] == account_id) == (side == "debit") else -1
    return Decimal(transfer["amount"]) * sign


@router.get("/ops/ledger/{account_id}")
@staff_page(("admin",))  # the ledger API is for administrators
async def account(
    request: Request,
    account_id: Ident,
    as_of: Annotated[dt.datetime | None, Query()] = None,
    after: Annotated[int | None, Query(ge=0, le=2**53 - 1)] = None,
) -> Response:
    fmt, _ = render.formatter(request), render.formatter(request).gettext
    kinds, ledgers = await _chart(request)
    stamp = as_of.replace(tzinfo=as_of.tzinfo or clock.CHINA).isoformat() if as_of else None
    found = await get(request, f"/v1/ledger/accounts/{account_id}", as_of=stamp)
    side = kinds.get(found["code"], {}).get("normal_side", "debit")
    facts = [
        [_("Kind"), found["code"]],
        [_("Normal balance side"), _("side:" + side)],
        [_("Owner"), found.get("owner_id") or "—"],
        [_("Ledger (unit)"), found["ledger"]],
        [_("Balance (normal side)"), amount_in(fmt, signed_balance(found, side), found["ledger"], ledgers)],
        [_("As of"), fmt.moment(found.get("as_of")) if found.get("as_of") else _("Now")],
    ]
    history = await get(request, f"/v1/ledger/accounts/{account_id}/transfers", after=after, limit=PAGE)
    rows = []
    for t in history["transfers"]:
        other = t["credit_account_id"] if t["debit_account_id"] == account_id else t["debit_account_id"]
        phase = next((_(TWO_PHASE[flag]) for flag in t["flags"] if flag in TWO_PHASE), "")
        rows.append(
            [
                str(t["seq"]),
                fmt.moment(t["timestamp"]),
                t["code"],
                other,
                phase,
                amount_in(fmt, posted_effect(t, account_id, side), found["ledger"], ledgers),
            ]
        )
    picker = form(
        "as-of",
        f"/ops/ledger/{account_id}",
        _("Show the balance then"),
        [field("as_of", _("As of (China time)"), "datetime-local", required=True)],
        "get",
    )
    forms = [picker]
    if history.get("next"):
        forms.append(
            form(
                "next",
                f"/ops/ledger/{account_id}",
                _("Next page"),
                [field("after", "", "hidden", str(history["next"]))],
                "get",
            )
        )
    head = [_("Number"), _("Time"), _("Code"), _("Counter-account"), _("Hold"), _("Effect on balance")]
    return sections_page(
        request,
        account_id,
        [
            section(_("Account"), [_("Item"), _("Value")], facts, forms=[picker], id="account"),
            section(_("History"), head, rows, forms=forms[1:], id="history"),
        ],
    )


def audit_entries(engine: Engine, before: int | None, limit: int = PAGE) -> list[dict]:
    """The audit log (审计日志), newest first, a page before `before` (a sequence number)."""
    query = select(audit_log).order_by(audit_log.c.seq.desc()).limit(limit)
    if before is not None:
        query = query.where(audit_log.c.seq < before)
    with reading(engine) as connection:
        return [dict(r) for r in connection.execute(query).mappings()]


@router.get("/ops/audit")
@staff_page(("admin",))
async def audit(request: Request, before: Annotated[int | None, Query(ge=0, le=2**53 - 1)] = None) -> Response:
    fmt, _ = render.formatter(request), render.formatter(request).gettext
    entries = await run_in_threadpool(audit_entries, request.app.state.engine, before)
    rows = [
        [
            str(e["seq"]),
            fmt.moment(clock.iso(e["at"])),
            e["principal"],
            e["action"],
            e.get("target") or "—",
            str(e["status_code"]),
        ]
        for e in entries
    ]
    forms = []
    if len(entries) == PAGE:
        forms.append(
            form("older", "/ops/audit", _("Older"), [field("before", "", "hidden", str(entries[-1]["seq"]))], "get")
        )
    clear = await get(request, "/v1/pii-access-log", limit=50)
    shown = [
        [fmt.moment(e["at"]), e["principal"], e["role"], e["subject"], ", ".join(e["fields"]), e["purpose"]]
        for e in clear["entries"]
    ]
    return sections_page(
        request,
        _("Audit log"),
        [
            section(
                _("Audit log"),
                [_("Number"), _("Time"), _("Who"), _("Action"), _("Target"), _("HTTP status")],
                rows,
                forms=forms,
                id="audit",
            ),
            section(
                _("Personal data shown in clear"),
                [_("Time"), _("Who"), _("Role"), _("Customer"), _("Fields"), _("Purpose")],
                shown,
                id="pii-log",
            ),
        ],
    )


def headline(value: object) -> Decimal | None:
    """A metric's figure: the cross-validated mean when the API gives {mean, std}, else the number."""
    if isinstance(value, dict):
        value = value.get("mean")
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.0001"))


@router.get("/ops/models")
@staff_page(OPS_ROLES)
async def models(request: Request) -> Response:
    fmt, _ = render.formatter(request), render.formatter(request).gettext
    found = await get(request, "/v1/risk/models")
    rows = [
        [
            link(f"/ops/models/{m['id']}", f"{m['name']} v{m['version']}"),
            m["kind"],
            _("model:" + m["status"]),
            str(headline(m["metrics"].get("auc")) or "—"),
            str(headline(m["metrics"].get("ks")) or "—"),
            fmt.moment(m["trained_at"]),
        ]
        for m in found["models"]
    ]
    head = [_("Model"), _("Kind"), _("Status"), "AUC", "KS", _("Trained")]
    empty = _("No model is registered yet.")
    return sections_page(request, _("Models"), [section(_("Credit models"), head, rows, id="models", empty=empty)])


@router.get("/ops/models/{model_id}")
@staff_page(OPS_ROLES)
async def model(request: Request, model_id: Annotated[int, Path(ge=0, le=2**53 - 1)]) -> Response:
    """A model card (模型卡): its validation metrics, calibration by decile and scorecard, drawn as SVG."""
    _ = render.formatter(request).gettext
    found = await get(request, f"/v1/risk/models/{model_id}")
    metrics = {k: headline(v) for k, v in found["metrics"].items() if headline(v) is not None}
    chart = svg.bar_chart([svg.Bar(k.upper(), v) for k, v in metrics.items() if v is not None], _("Validation metrics"))
    card = found["card"]
    features = card.get("features") or [{"name": f} for f in card.get("features_used") or []]
    sections = [
        section(
            _("Validation metrics"),
            [_("Metric"), _("Value")],
            [[k.upper(), str(v)] for k, v in metrics.items()],
            chart=chart,
            id="metrics",
        ),
        section(_("Features"), [_("Feature")], [[str(f.get("name"))] for f in features][:60], id="features"),
    ]
    calibration = (card.get("validation") or {}).get("calibration") or []
    if calibration:
        points = [charts.Point(str(row["decile"]), Decimal(str(row["observed_bad_rate"])) * 100) for row in calibration]
        rows = [
            [
                str(r["decile"]),
                f"{Decimal(str(r['predicted_bad_rate'])) * 100:.2f}%",
                f"{Decimal(str(r['observed_bad_rate'])) * 100:.2f}%",
                str(r["rows"]),
            ]
            for r in calibration
        ]
        head = [_("Decile"), _("Predicted bad rate"), _("Observed bad rate"), _("Rows")]
        sections.append(
            section(
                _("Calibration by decile"),
                head,
                rows,
                chart=charts.line_chart(points, _("Observed bad rate")),
                id="calibration",
            )
        )
    spread = scorecard_spread(card.get("scorecard"))
    if spread:
        title = _("Scorecard points by feature")
        sections.append(section(title, chart=svg.bar_chart(spread, title), id="scorecard"))
    return sections_page(request, f"{found['name']} v{found['version']}", sections)


def scorecard_spread(scorecard: object) -> list[svg.Bar]:
    """How many points each feature can move a score (max − min over its bins), from the card's rows."""
    if not isinstance(scorecard, list):
        return []
    spread: dict[str, list[Decimal]] = {}
    for row in scorecard:
        if isinstance(row, dict) and row.get("points") is not None:
            spread.setdefault(str(row.get("feature")), []).append(Decimal(str(row["points"])))
    return [svg.Bar(name, (max(v) - min(v)).quantize(Decimal("0.1"))) for name, v in list(spread.items())[:12]]
