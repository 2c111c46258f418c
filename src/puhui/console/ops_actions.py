"""Staff actions in the back office: NAV uploads and end-of-day runs from /ops."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
