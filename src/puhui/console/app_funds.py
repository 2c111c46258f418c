"""Distributed funds with their risk levels, the suitability questionnaire (风险测评) and fund orders,
under /app/funds."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
