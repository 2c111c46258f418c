"""The console's one router, mounted by the app: the customer app under `/app`, its static assets
under `/console/static` (shipped in the package: no CDN), and a 404 page for any other `/app` path."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import FileResponse, Response

from puhui.console import (
    app_auth,
    app_claims,
    app_credit,
    app_fund,
    app_funds,
    app_insurance,
    app_me,
    app_return_cover,
    app_robo,
    app_securities,
    app_wallet,
    merchant,
    merchant_returns,
    merchant_scf,
    ops,
    ops_actions,
    ops_books,
    ops_kyc,
    render,
    staff,
    supervision,
)
from puhui.console.web import public_page

router = APIRouter(include_in_schema=False)
ASSETS = {"console.css": "text/css", "console.js": "text/javascript"}


@router.get("/console/static/{name}")
async def asset(name: Annotated[str, Path(max_length=32)]) -> Response:
    """A static file of the console, by name from a fixed list (nothing else on disk is reachable)."""
    if name not in ASSETS:
        return Response(status_code=404)
    return FileResponse(
        render.STATIC / name, media_type=ASSETS[name], headers={"Cache-Control": "public, max-age=3600"}
    )


for part in (app_auth.router, app_wallet.router, app_fund.router, app_me.router):
    router.include_router(part)
for part in (app_credit.router, app_funds.router, app_securities.router, app_robo.router):
    router.include_router(part)
for part in (app_insurance.router, app_claims.router, app_return_cover.router):
    router.include_router(part)
for part in (
    staff.router,
    merchant.router,
    merchant_scf.router,
    merchant_returns.router,
    ops.router,
    ops_books.router,
    ops_actions.router,
    supervision.router,
):
    router.include_router(part)
router.include_router(ops_kyc.router)


@router.get("/app/{rest:path}")
@public_page
async def not_found(request: Request, rest: str) -> Response:
    return render.error_page(request, 404)
