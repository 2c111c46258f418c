"""Responses that are files, documented in the spec with their real media type."""

from __future__ import annotations

from fastapi.responses import PlainTextResponse


class CsvFile(PlainTextResponse):
    """A CSV file (UTF-8): documented in the spec as `text/csv`."""

    media_type = "text/csv"
