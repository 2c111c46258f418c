"""The demo's stock market (演示证券市场): a liquidity provider who quotes every listed share and ETF in
trading hours, so a newcomer's order on /app/securities fills and ETF robo-advice can buy its portfolio.

The provider is a real-named demo person like the others, funded from a sandbox test card through the
wallet into the brokerage (银证转账), with shares deposited (转托管转入); the server's market loop keeps
its ladder (`puhui.securities.liquidity`). Like any customer it answers the risk questionnaire before its
account opens (投资者适当性; as the experienced investor it plays: C5, so it may quote every security).

Staff grant it ChiNext and STAR (创业板/科创板权限), which need average daily assets over the 20 trading
days before the application (前20个交易日日均资产). The demo world has no past of its own, so it presents
the provider as an investor who has held its assets with the platform for those 20 trading days: their
daily close snapshots are seeded at its assets on the seeding day (`daily_assets.backfill`, the demo's
alone), then the grant goes through the ordinary check."""

from __future__ import annotations

from stdnum import luhn
from stdnum.cn import ric

from puhui import clock
from puhui.db import transaction
from puhui.demo_people import register_person
from puhui.securities import daily_assets, liquidity
from puhui.wealth.suitability.service import CURRENT

PROVIDER = ("孙强", "110105", "19800808", "623", "13800000099")  # name, region, birth, sequence, phone
CARD_BODY = "622202110000009"
FUNDS = "100000.00"  # CNY: the wallet's Class III allows 200,000 a year
# the risk questionnaire answered as an experienced investor: every question's highest-scoring choice (C5)
_EXPERIENCED = {q.id: max(q.choices, key=lambda c: c.score).key for q in CURRENT.questions}


def seed_market(client, engine, admin: dict, bank, password: str, channels: tuple[str, ...], check) -> str:  # type: ignore[no-untyped-def]
    """Register, verify and fund the liquidity provider, open its brokerage account with shares and
    designate it; its first quotes go out at once when the market is open. Answers its name."""
    name, region, birth, seq, phone = PROVIDER
    body = region + birth + seq
    person = {"name": name, "id_number": body + ric.calc_check_digit(body + "0"), "phone": phone, "password": password}
    made = register_person(client, admin, check, person, channels)
    cid, me = made.id, made.headers
    number = CARD_BODY + "1" + luhn.calc_check_digit(CARD_BODY + "1")
    bank.open_card(number, 500_000_00)
    card = check(client.post(f"/v1/customers/{cid}/cards", headers=me, json={"card_number": number}), 201)
    order = {"card_id": card["id"], "amount": FUNDS, "client_order_id": "demo-market-top"}
    check(client.post("/v1/wallets/me/top-ups", headers={**me, "Idempotency-Key": "demo-market-top"}, json=order), 202)
    for _ in range(100):
        if (due := bank.next_event_at()) is None:
            break
        bank.deliver_due(max(due, clock.now()))
    for path, key, body in (
        (
            "/v1/wealth/questionnaire/answers",
            "demo-market-questionnaire",
            {"version": CURRENT.version, "answers": _EXPERIENCED},
        ),
        ("/v1/securities/accounts", "demo-market-open", {}),
        ("/v1/securities/transfers", "demo-market-in", {"direction": "in", "amount": FUNDS}),
    ):
        check(client.post(path, headers={**me, "Idempotency-Key": key}, json=body), 201)
    transaction(engine, lambda uow: liquidity.stock_up(uow, cid))
    transaction(engine, lambda uow: daily_assets.backfill(uow, cid, clock.business_date()))
    for board in ("chinext", "star"):  # 创业板/科创板权限: granted by staff on the 20-day average seeded above
        path, body = f"/v1/securities/accounts/{cid}/permissions", {"board": board, "permitted": True}
        check(client.post(path, headers={**admin, "Idempotency-Key": f"demo-market-{board}"}, json=body), 200)
    transaction(engine, lambda uow: liquidity.designate(uow, cid))
    liquidity.make_markets(engine)
    return name
