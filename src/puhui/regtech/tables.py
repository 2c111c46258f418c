"""Monitoring tables (资金监测), on the platform's one `metadata`. Amounts in fen, times UTC micros.

`monitor_flows` is the window state: the flows the rules look back over, written in the same
transaction as the monitor's offset and its alerts, so a crash loses nothing and repeats nothing.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from puhui.db.tables import ID_LENGTH, metadata

# Rule definitions, one row per version; the highest version of a code is in force.
monitor_rules = Table(
    "monitor_rules",
    metadata,
    Column("code", String(48), nullable=False),
    Column("version", Integer, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("definition", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("created_by", String(ID_LENGTH), nullable=False),
    PrimaryKeyConstraint("code", "version", name="pk_monitor_rules"),
)

# One row per (event, leg): who moved money, to or from whom, how much, when.
monitor_flows = Table(
    "monitor_flows",
    metadata,
    Column("consumer", String(64), nullable=False),  # the monitor whose window this is
    Column("position", BigInteger, nullable=False),
    Column("leg", Integer, nullable=False),
    Column("party", String(ID_LENGTH), nullable=False),
    Column("counterparty", String(ID_LENGTH), nullable=True),
    Column("direction", String(3), nullable=False),  # in | out
    Column("amount", BigInteger, nullable=False),
    Column("channel", String(8), nullable=False),  # transfer | cash | loan | mmf | fund | policy | broker
    Column("party_kind", String(12), nullable=False),  # natural | non_natural
    Column("cross_border", Boolean, nullable=False),
    Column("at", BigInteger, nullable=False),
    Column("ref", String(ID_LENGTH), nullable=False),
    Column("counterparty_kind", String(12), nullable=True),  # natural | non_natural | bank | lender
    Column("purpose", String(16), nullable=True),  # a P2P transfer's declared purpose (用途)
    PrimaryKeyConstraint("consumer", "position", "leg", name="pk_monitor_flows"),
    Index("ix_monitor_flows_consumer_at", "consumer", "at"),
)

monitor_alerts = Table(
    "monitor_alerts",
    metadata,
    Column("id", String(ID_LENGTH), primary_key=True),
    Column("rule_code", String(48), nullable=False),
    Column("rule_version", Integer, nullable=False),
    Column("typology", String(24), nullable=False),
    Column("party", String(ID_LENGTH), nullable=False),
    Column("window_start", BigInteger, nullable=False),
    Column("window_end", BigInteger, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("evidence", Text, nullable=False),
    Column("position", BigInteger, nullable=False),
    Column("event_at", BigInteger, nullable=False),
    Column("raised_at", BigInteger, nullable=False),
    Column("case_id", String(ID_LENGTH), nullable=True),
    Index("ix_monitor_alerts_party", "party"),
    Index("ix_monitor_alerts_case_id", "case_id"),
    Index("ix_monitor_alerts_rule_code", "rule_code"),
)

monitor_cases = Table(
    "monitor_cases",
    metadata,
    Column("id", String(ID_LENGTH), primary_key=True),
    Column("status", String(24), nullable=False),
    Column("party", String(ID_LENGTH), nullable=False),
    Column("assignee", String(ID_LENGTH), nullable=True),
    Column("opened_by", String(ID_LENGTH), nullable=False),
    Column("opened_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Index("ix_monitor_cases_status", "status"),
)

monitor_case_events = Table(
    "monitor_case_events",
    metadata,
    Column("case_id", String(ID_LENGTH), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("from_status", String(24), nullable=True),
    Column("to_status", String(24), nullable=False),
    Column("actor", String(ID_LENGTH), nullable=False),
    Column("note", Text, nullable=True),
    Column("at", BigInteger, nullable=False),
    PrimaryKeyConstraint("case_id", "seq", name="pk_monitor_case_events"),
)

# Each party's last flow as a monitor saw it: what "dormant" (长期不动户) is measured against.
monitor_parties = Table(
    "monitor_parties",
    metadata,
    Column("consumer", String(64), nullable=False),
    Column("party", String(ID_LENGTH), nullable=False),
    Column("last_at", BigInteger, nullable=False),
    Column("woke_at", BigInteger, nullable=True),  # the first flow after the last long quiet spell
    Column("dormant_for", BigInteger, nullable=False),  # how long that spell was, micros
    PrimaryKeyConstraint("consumer", "party", name="pk_monitor_parties"),
)

# Related parties (关联方) of a lender: the platform itself ("platform") or a funding partner.
related_parties = Table(
    "regtech_related_parties",
    metadata,
    Column("lender", String(ID_LENGTH), nullable=False),
    Column("party", String(ID_LENGTH), nullable=False),
    Column("relation", String(32), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("created_by", String(ID_LENGTH), nullable=False),
    PrimaryKeyConstraint("lender", "party", name="pk_regtech_related_parties"),
)

MONITOR_TABLES = (
    monitor_rules,
    monitor_flows,
    monitor_alerts,
    monitor_cases,
    monitor_case_events,
    monitor_parties,
    related_parties,
)
