"""The customer's credit line, buy-now-pay-later at checkout, loans with their disclosed rate and schedule,
and repayment (借呗/花呗-style pages under /app)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
