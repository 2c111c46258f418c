"""Placeholder router; filled in by its owner."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1/regtech", tags=["regtech"])
