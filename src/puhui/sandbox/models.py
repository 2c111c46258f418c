"""What a move of the sandbox clock is: a forward step or a target instant, checked before any I/O."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from puhui.sandbox.errors import ClockBackwards, ClockMoveInvalid, ClockTooFar

# A sandbox that runs a century ahead has stopped being a model of anything.
MAX_OFFSET = dt.timedelta(days=36_600)


@dataclass(frozen=True)
class ClockReading:
    """平台时间: platform time is wall time plus the sandbox offset (never negative)."""

    wall: dt.datetime
    offset: dt.timedelta

    @property
    def now(self) -> dt.datetime:
        return self.wall + self.offset


def new_offset(reading: ClockReading, *, advance: dt.timedelta | None, to: dt.datetime | None) -> dt.timedelta:
    """The offset after moving the clock `advance` forward or `to` an instant; forward only."""
    if (advance is None) == (to is None):
        raise ClockMoveInvalid()
    if to is not None and to.tzinfo is None:
        raise ClockMoveInvalid("`to` needs a UTC offset, e.g. 2027-03-02T10:00:00+08:00")
    step = advance if advance is not None else to - reading.now  # type: ignore[operator]  # `to` is set whenever `advance` is None (checked above)
    if step < dt.timedelta(0):
        raise ClockBackwards(f"the platform time is {reading.now.isoformat()}; it cannot go back")
    offset = reading.offset + step
    if offset > MAX_OFFSET:
        raise ClockTooFar()
    return offset


def iso_duration(delta: dt.timedelta) -> str:
    """`PT36H`-style ISO 8601 duration of a non-negative timedelta (days kept as hours)."""
    seconds = int(delta.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    micros = delta.microseconds
    text = "PT" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    if secs or micros or text == "PT":
        text += f"{secs}.{micros:06d}".rstrip("0").rstrip(".") + "S"
    return text
