"""Log redaction: a last line of defence that masks resident ID numbers, mobile numbers and bank
card numbers in every log record, whichever logger wrote it. Code should never log personal data;
if it does anyway, the line leaves the process masked (`110***********1234`).
"""

from __future__ import annotations

import logging
import re

from stdnum import luhn
from stdnum.cn import ric

from puhui.identity.models import mask_card_number, mask_id_number, mask_phone

_ID = re.compile(r"(?<![0-9A-Za-z])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")
_CARD = re.compile(r"(?<![0-9])[3-6][0-9]{12,18}(?![0-9])")  # card networks start 3-6
_PHONE = re.compile(r"(?<![0-9])(?:\+?86)?1[3-9][0-9]{9}(?![0-9])")
_installed = False


def redact(text: str) -> str:
    """`text` with every valid ID number, Luhn-valid card number and mobile number masked."""
    text = _ID.sub(lambda m: mask_id_number(m.group()) if ric.is_valid(m.group().upper()) else m.group(), text)
    text = _CARD.sub(lambda m: mask_card_number(m.group()) if luhn.is_valid(m.group()) else m.group(), text)
    return _PHONE.sub(lambda m: mask_phone(m.group()[-11:]), text)


def _redact_arg(value: object) -> object:
    """A log argument with personal data masked, its type kept where nothing needed masking."""
    if isinstance(value, str):
        return redact(value)
    shown = str(value) if isinstance(value, int) and not isinstance(value, bool) else None
    return redact(shown) if shown is not None and redact(shown) != shown else value


def redact_record(record: logging.LogRecord) -> None:
    """Mask `record` in place and keep its shape: the format string and each argument are masked one by
    one, so formatters that read `record.args` (uvicorn's access formatter unpacks five) still work."""
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a malformed record is logging's business, not ours
        return
    if redact(message) == message:
        return
    if isinstance(record.msg, str):
        record.msg = redact(record.msg)
    if isinstance(record.args, tuple):
        record.args = tuple(_redact_arg(a) for a in record.args)
    elif isinstance(record.args, dict):
        record.args = {k: _redact_arg(v) for k, v in record.args.items()}
    try:
        still = record.getMessage()
    except (TypeError, ValueError):  # an argument masked into a string no longer fits its %d
        still = None
    if still is None or redact(still) != still:
        record.msg, record.args = redact(message), ()


def install_redaction() -> None:
    """Wrap the log record factory so every record is redacted (idempotent)."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs):
        record = previous(*args, **kwargs)
        redact_record(record)
        return record

    logging.setLogRecordFactory(factory)
    _installed = True
