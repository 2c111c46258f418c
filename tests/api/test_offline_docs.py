"""`/docs` and `/redoc` were blank offline (issue 12, defect 7): they loaded Swagger UI and ReDoc from a
CDN. Every page Puhui serves now references only its own assets, and those assets answer."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from puhui.app import create_app
from puhui.settings import Settings

STATIC = Path(__file__).resolve().parents[2] / "src" / "puhui" / "web" / "static"
REFERENCE = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|url\(\s*["']?([^"')]+)""", re.I)


@pytest.fixture
def client(engine, clock):
    with TestClient(create_app(engine, Settings(), run_expiry=False)) as test_client:
        yield test_client


@pytest.mark.parametrize("page", ["/", "/docs", "/redoc"])
def test_a_page_loads_nothing_from_outside(client, page):
    answer = client.get(page)
    assert answer.status_code == 200 and "text/html" in answer.headers["content-type"]
    references = [a or b for a, b in REFERENCE.findall(answer.text)]
    assert references, "the page loads its scripts and styles"
    for reference in references:
        assert not re.match(r"^(https?:)?//", reference), f"{page} loads {reference} from outside"
        if reference.startswith("/") and not reference.startswith(("/docs", "/redoc", "/v1/")):
            asset = client.get(reference)
            assert asset.status_code == 200 and asset.content, reference


def test_no_static_page_of_the_console_references_an_external_url():
    for path in STATIC.rglob("*"):
        if path.suffix in {".html", ".js", ".css"}:
            for a, b in REFERENCE.findall(path.read_text(encoding="utf-8")):
                assert not re.match(r"^(https?:)?//", a or b), f"{path.name} loads {a or b}"
