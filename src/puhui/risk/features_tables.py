"""Tables of this part of risk, on the platform's one `metadata`.

`risk_profiles` holds each customer's profile as the outbox consumer last left it: `features` is
JSON text with the profile as of `as_of` and the activity it was computed from (see
`puhui.risk.profiles`); `as_of` is the newest event time applied (UTC microseconds).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, String, Table, Text

from puhui.db.tables import ID_LENGTH, metadata

risk_profiles = Table(
    "risk_profiles",
    metadata,
    Column("customer_id", String(ID_LENGTH), primary_key=True),
    Column("features", Text, nullable=False),
    Column("as_of", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)
