"""The identity HTTP API (one router for the app to include): customers, merchants, partners,
staff and the PII access log. Importing it also installs log redaction of personal numbers."""

from __future__ import annotations

from fastapi import APIRouter

from puhui.identity import routes_customers, routes_org, routes_self_kyc, routes_sessions
from puhui.identity.logs import install_redaction

install_redaction()

router = APIRouter()
router.include_router(routes_self_kyc.router)  # first: `/v1/customers/me/...` before `/{customer_id}/...`
router.include_router(routes_customers.router)
router.include_router(routes_sessions.router)
router.include_router(routes_org.router)
