"""What the events API answers with: outbox events (事件) in order, for a consumer that keeps its offset."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from puhui.api.fields import Schema


class Event(Schema):
    """An event from the transactional outbox: `position` orders them; `payload` depends on `type`."""

    position: int
    topic: str = Field(description="the package that published it, e.g. payments, ledger")
    type: str = Field(description="what happened, e.g. payment.succeeded")
    key: str | None = Field(description="what it is about (a customer, an account...), for partitioning")
    payload: dict[str, Any]


class Events(Schema):
    """A page of events after an offset; `next` is the offset to ask from next (the last position, or the same)."""

    events: list[Event]
    next: int
