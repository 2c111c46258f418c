"""Logging broke (issue 12, defect 6): a URL with digits that look like an ID number or a phone made the
redaction set `record.args = None`, and uvicorn's access formatter (which unpacks five arguments) printed
a `--- Logging error ---` trace instead of the access line. Redaction now keeps each record's shape."""

from __future__ import annotations

import io
import logging

import pytest
from uvicorn.logging import AccessFormatter, DefaultFormatter

from puhui.identity.logs import install_redaction, redact_record

from .helpers import ZHANG

ISSUE_ID_NUMBER = "110101199003071233"  # the reproduction's: a valid resident ID number
PATHS = [
    f"/v1/risk/decisions?payer_id={ISSUE_ID_NUMBER}",
    f"/v1/risk/decisions?payer_id={ZHANG['id_number']}",
    f"/v1/customers/login?phone={ZHANG['phone']}",
    "/v1/lending/loans/ln_3f3906787a6a4535ad96fe7c",
    "/v1/payments/pay_13912345678a0c4e2b9d07f1",
]  # a hex id whose digits look like a mobile number


@pytest.fixture
def access_log():  # type: ignore[no-untyped-def]
    """uvicorn's own access logger and formatter, writing to a buffer; stderr watched for logging errors."""
    install_redaction()
    out, errors = io.StringIO(), io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s', use_colors=False))
    logger = logging.getLogger("uvicorn.access.test")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    previous, logging.raiseExceptions = logging.raiseExceptions, True
    import sys

    real_stderr, sys.stderr = sys.stderr, errors
    try:
        yield logger, out, errors
    finally:
        sys.stderr = real_stderr
        logging.raiseExceptions = previous
        logger.removeHandler(handler)


@pytest.mark.parametrize("path", PATHS)
def test_the_access_line_survives_and_is_masked(access_log, path):
    logger, out, errors = access_log
    logger.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", path, "1.1", 200)
    assert errors.getvalue() == ""  # no "--- Logging error ---"
    [line] = out.getvalue().splitlines()
    assert line.startswith('127.0.0.1:5000 - "GET /v1/') and line.endswith('HTTP/1.1" 200 OK'), line
    assert ZHANG["id_number"] not in line and ZHANG["phone"] not in line and ISSUE_ID_NUMBER not in line
    assert "ln_3f3906787a6a4535ad96fe7c" in line or "ln_" not in path


def test_a_number_passed_as_an_integer_is_masked_too():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "phone %d status %d", (int(ZHANG["phone"]), 200), None)
    redact_record(record)
    text = DefaultFormatter("%(message)s", use_colors=False).format(record)
    assert ZHANG["phone"] not in text and text.endswith("status 200"), text
