"""The demo world for `puhui serve --demo`: customers and merchants with wallets and some history."""

from __future__ import annotations

import random

from sqlalchemy import Engine

from puhui.db import UnitOfWork, transaction
from puhui.ledger import service
from puhui.ledger.models import AccountFlags, Transfer, TransferFlags

RESERVE = "platform.reserve_bank.CNY"
FEES = "platform.fee_income.CNY"
CUSTOMERS = ["zhang.wei", "li.na", "wang.fang", "liu.yang", "chen.jie", "zhao.lei"]
MERCHANTS = ["noodle-shop", "fruit-stall", "book-store"]


def seed_demo_world(engine: Engine, seed: int = 7) -> str:
    rng = random.Random(seed)

    def seed_world(uow: UnitOfWork) -> list:
        wallet = AccountFlags.debits_must_not_exceed_credits
        for name in CUSTOMERS:
            service.create_account(uow, id=f"wallet.{name}", ledger="CNY", code="customer_wallet", owner_id=name, flags=wallet)
        for name in MERCHANTS:
            service.create_account(uow, id=f"merchant.{name}", ledger="CNY", code="merchant_wallet", owner_id=name, flags=wallet)
        batch = [
            Transfer(f"demo.topup.{name}", RESERVE, f"wallet.{name}", rng.randrange(50_000, 500_000), "CNY", "topup")
            for name in CUSTOMERS
        ]
        for n in range(24):
            payer, merchant = rng.choice(CUSTOMERS), rng.choice(MERCHANTS)
            amount = rng.randrange(500, 8_000)
            fee = max(1, amount * 38 // 10_000)
            batch += [
                Transfer(f"demo.pay.{n}", f"wallet.{payer}", f"merchant.{merchant}", amount, "CNY", "qr_payment",
                         flags=TransferFlags.linked),
                Transfer(f"demo.fee.{n}", f"merchant.{merchant}", FEES, fee, "CNY", "merchant_fee"),
            ]
        batch.append(Transfer("demo.hold.1", "wallet.li.na", RESERVE, 20_000, "CNY", "withdrawal",
                              flags=TransferFlags.pending, timeout_seconds=3600))
        return service.create_transfers(uow, batch)

    results = transaction(engine, seed_world)
    ok = sum(r.succeeded for r in results)
    return f"{len(CUSTOMERS)} customers, {len(MERCHANTS)} merchants, {ok} transfers"
