"""The risk HTTP API under /v1/risk: one router gathering scoring, fraud, profiles and reviews."""

from __future__ import annotations

from fastapi import APIRouter

from puhui.risk import features_api, reviews_api
from puhui.risk.fraud import api as fraud_api
from puhui.risk.scoring import api as scoring_api

router = APIRouter()
for part in (scoring_api, fraud_api, features_api, reviews_api):
    router.include_router(part.router)
