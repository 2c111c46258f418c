"""The brokerage pages under /app/securities: account, 银证转账, quotes, orders, positions and statements (交割单)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
