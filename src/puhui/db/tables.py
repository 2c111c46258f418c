"""SQLAlchemy Core tables. Money columns are integer minor units; times are UTC microseconds."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Identity,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ID_LENGTH = 64

# Auto-incrementing 64-bit keys on PostgreSQL, plain INTEGER PRIMARY KEY (rowid) on SQLite.
Seq = BigInteger().with_variant(Integer(), "sqlite")

outbox = Table(
    "outbox",
    metadata,
    Column("seq", Seq, Identity(), primary_key=True),
    # Assigned after commit, in commit order, by the sequencer: consumers read by position.
    Column("position", BigInteger, nullable=True),
    Column("topic", String(64), nullable=False),
    Column("type", String(64), nullable=False),
    Column("key", String(ID_LENGTH), nullable=True),
    Column("payload", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    UniqueConstraint("position", name="uq_outbox_position"),
    Index(
        "ix_outbox_unpositioned",
        "seq",
        sqlite_where=text("position IS NULL"),
        postgresql_where=text("position IS NULL"),
    ),
    # A consumer of one topic (the fraud checks follow two) reads past the others' events by this.
    Index("ix_outbox_topic_position", "topic", "position"),
)

# How far each named consumer of the outbox has read (exactly-once in effect: advance it in the
# same transaction as the effects of the events read).
event_offsets = Table(
    "event_offsets",
    metadata,
    Column("consumer", String(64), nullable=False),
    Column("position", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    PrimaryKeyConstraint("consumer", name="pk_event_offsets"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("principal", String(ID_LENGTH), primary_key=True),
    Column("key", String(128), primary_key=True),
    Column("method", String(8), nullable=False),
    Column("path", String(256), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("response_body", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", Seq, Identity(), primary_key=True),
    Column("at", BigInteger, nullable=False),
    Column("principal", String(ID_LENGTH), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target", String(256), nullable=True),
    Column("source_ip", String(64), nullable=True),
    Column("request_id", String(64), nullable=True),
    Column("status_code", Integer, nullable=False),
    Column("detail", Text, nullable=True),
)
