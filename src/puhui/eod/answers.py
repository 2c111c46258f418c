"""The words of every end-of-day answer, the same over HTTP and from the commands (`puhui eod` and each
business form's own): a day's answer names its date `business_date` (YYYY-MM-DD, China time), says
`already_done` (true: the date had run before, and this run moved nothing) where the job can tell, and
lists the days of a gap run first as `caught_up`.

The jobs that store a day's summary (the money-market funds, the funds) named its date `date` before:
`stored` reads either.
"""

from __future__ import annotations

import json
from typing import Any

RETIRED = {"date": "business_date"}  # a key's old name -> its name now


def stored(summary: str | bytes) -> dict[str, Any]:
    """A day's summary as a job stored it (JSON), in the words of today's answers, its keys in order."""
    return {RETIRED.get(key, key): value for key, value in json.loads(summary).items()}
