"""Tables of this part, on the platform's one `metadata`."""

from __future__ import annotations

from puhui.db.tables import metadata  # noqa: F401
