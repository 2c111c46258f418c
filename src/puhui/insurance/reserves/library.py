"""The same estimates by the `chainladder` library (cl.Triangle, cl.Chainladder,
cl.BornhuetterFerguson), to check the platform's own arithmetic against it and for an actuary's
second opinion. The library (and pandas) is imported inside each function: it takes seconds to load,
which the server's start and the end of day do not pay."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from puhui.insurance.reserves.models import Triangle, month_start


def _chainladder() -> Any:
    """The library, loaded on first use (and typed loosely: its own hints are partial)."""
    import chainladder

    return chainladder


def library_triangle(triangle: Triangle, column: str = "paid") -> Any:
    """A `cl.Triangle` of the cumulative paid, monthly origins and development."""
    cl = _chainladder()
    import pandas as pd

    rows = []
    for origin, cells in enumerate(triangle.rows):
        for age, cell in enumerate(cells):
            if cell is not None:
                when = month_start(triangle.first_month + origin)
                rows.append(
                    {
                        "origin": when,
                        "development": month_start(triangle.first_month + origin + age),
                        column: float(cell),
                    }
                )
    frame = pd.DataFrame(rows)
    return cl.Triangle(frame, origin="origin", development="development", columns=[column], cumulative=True)


def _per_origin(ultimate: Any) -> tuple[Decimal, ...]:
    values = ultimate.to_frame().iloc[:, 0].tolist()
    return tuple(Decimal(repr(float(v))) for v in values)


def chain_ladder_ultimates(triangle: Triangle) -> tuple[Decimal, ...]:
    """Each accident month's chain-ladder ultimate by the library."""
    cl = _chainladder()

    return _per_origin(cl.Chainladder().fit(library_triangle(triangle)).ultimate_)


def bornhuetter_ferguson_ultimates(
    triangle: Triangle, earned: Sequence[int], expected_loss_ratio: Decimal
) -> tuple[Decimal, ...]:
    """Each accident month's BF ultimate by the library, the earned premium as its exposure."""
    cl = _chainladder()
    import pandas as pd

    last = month_start(triangle.first_month + triangle.ages - 1)
    exposure = pd.DataFrame(
        {
            "origin": [month_start(triangle.first_month + row) for row in range(triangle.ages)],
            "development": [last] * triangle.ages,
            "premium": [float(e) for e in earned],
        }
    )
    weight = cl.Triangle(exposure, origin="origin", development="development", columns=["premium"], cumulative=True)
    model = cl.BornhuetterFerguson(apriori=float(expected_loss_ratio))
    return _per_origin(model.fit(library_triangle(triangle), sample_weight=weight.latest_diagonal).ultimate_)


def triangle_of(library: Any, first: Any) -> Triangle:
    """A `cl.Triangle` (e.g. a sample) as the platform's Triangle, its rows from month `first`."""
    from puhui.insurance.reserves.models import month_of

    rows = []
    for values in library.to_frame().values.tolist():
        rows.append(tuple(None if v != v else int(v) for v in values))
    return Triangle(month_of(first), tuple(rows))
