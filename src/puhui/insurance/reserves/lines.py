"""Lines of business (险种) in an insurer's reserves: the medical business (百万医疗, `medical`) and
return-shipping cover (退货运费险, `return_shipping`), each with its own figures, and their totals.

A line's figures at the end of a date are cumulative since its first policy, in fen."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from puhui.insurance.reserves import models
from puhui.money import format_minor

MEDICAL, RETURN_SHIPPING = "medical", "return_shipping"
LINES = (MEDICAL, RETURN_SHIPPING)
MONEY = ("written", "refunded", "earned", "upr", "paid", "case_reserve", "ibnr", "ibnr_bf")
SUMMED = ("policies", "written", "refunded", "earned", "paid", "case_reserve", "ibnr", "ibnr_bf")
BY_LINE = "by_line"


@dataclass(frozen=True, slots=True)
class LineFigures:
    """A line's premium and claims figures: written (保费收入), refunded (退保金), earned (已赚保费), claims
    paid (赔付支出), case reserve (已报案未决), IBNR booked by `ibnr_method` and by BF for comparison."""

    line: str
    policies: int
    written: int
    refunded: int
    earned: int
    paid: int
    case_reserve: int
    ibnr: int
    ibnr_bf: int
    ibnr_method: str

    @property
    def upr(self) -> int:
        """未到期责任准备金: written, less refunded, less earned."""
        return self.written - self.refunded - self.earned


def medical_of(row: Mapping[str, Any]) -> LineFigures:
    """The medical line from its reserve run row (`insurance_reserve_runs`)."""
    return LineFigures(line=MEDICAL, ibnr_method="chain_ladder", **{n: int(row[n]) for n in SUMMED})


def as_row(figures: LineFigures) -> dict[str, Any]:
    """A line's figures as its reserve run line row holds them (`insurance_reserve_run_lines`)."""
    return {"line": figures.line, "ibnr_method": figures.ibnr_method, **{n: getattr(figures, n) for n in SUMMED}}


def of_row(row: Mapping[Any, Any]) -> LineFigures:
    """A line's figures from its reserve run line row."""
    return LineFigures(line=str(row["line"]), ibnr_method=str(row["ibnr_method"]), **{n: int(row[n]) for n in SUMMED})


def total_method(lines: Iterable[LineFigures]) -> str:
    """The IBNR method of the totals: the one every line holding policies books, `chain_ladder` when no line
    holds any, else `by_line`."""
    methods = {f.ibnr_method for f in lines if f.policies}
    if len(methods) > 1:
        return BY_LINE
    return methods.pop() if methods else "chain_ladder"


def total(lines: Iterable[LineFigures]) -> LineFigures:
    """The lines added up (`line` is "total")."""
    lines = list(lines)
    sums = {name: sum(getattr(f, name) for f in lines) for name in SUMMED}
    return LineFigures(line="total", ibnr_method=total_method(lines), **sums)


def money_json(figures: LineFigures) -> dict[str, Any]:
    """A line's figures as the reserve report answers (元 strings)."""
    return {
        "policies": figures.policies,
        **{name: format_minor(getattr(figures, name), 2) for name in MONEY},
        "ibnr_method": figures.ibnr_method,
    }


def ratio_text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def ratios_json(figures: LineFigures, commission: Decimal, expense: Decimal) -> dict[str, Any]:
    """A line's loss ratio (赔付率) = incurred ÷ earned, and its combined ratio (综合成本率)."""
    found = models.ratios(figures.earned, figures.paid, figures.case_reserve, figures.ibnr, commission, expense)
    return {
        "earned": format_minor(found.earned, 2),
        "incurred": format_minor(found.incurred, 2),
        "loss_ratio": ratio_text(found.loss_ratio),
        "combined_ratio": ratio_text(found.combined_ratio),
    }
