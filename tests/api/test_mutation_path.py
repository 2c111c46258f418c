"""`mutations.path_of` is exactly Starlette's `request.url.path`: the Idempotency-Key's request fingerprint and the
audit row's path are what they were when the URL was built for them (a stored key still matches its retry)."""

from __future__ import annotations

import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.requests import Request

from puhui.api.mutations import fingerprint, path_of


def _request(path: str, host: bytes = b"api.example:8443", root_path: str = "") -> Request:
    scope = {
        "type": "http",
        "method": "POST",
        "scheme": "https",
        "path": path,
        "root_path": root_path,
        "query_string": b"a=1",
        "headers": [(b"host", host)],
        "server": ("10.0.0.1", 8443),
    }
    return Request(scope)


@settings(max_examples=500)
@given(st.text(min_size=1).map(lambda text: "/" + text), st.sampled_from(["", "/api"]))
def test_path_of_is_the_urls_path(path, root_path):
    request = _request(path, root_path=root_path)
    assert path_of(request) == request.url.path


def test_characters_a_url_escapes_are_escaped_alike():
    for path in ("/v1/qr-codes/a?b/pay", "/v1/x#y", "/v1/back\\slash", "/v1/中文", "/v1/x\n\ty\r"):
        request = _request(path)
        assert path_of(request) == request.url.path
        assert fingerprint(request, b"{}") == _fingerprint_over_the_url(request, b"{}")  # stored keys still match


def _fingerprint_over_the_url(request: Request, body: bytes) -> str:
    """The fingerprint as it was computed before `path_of`, over Starlette's URL."""
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.url.path.encode(), body):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()
