"""The columns of a settlements table, in one place: the merchant's page (/merchant/settlements, a row per
business date) and the operator's (/ops/settlements, a row per merchant) show the same figures of the API's
answer, so a heading renamed or a column added shows on both, in the same order."""

from __future__ import annotations

from puhui.console import i18n


def settlement_head(fmt: i18n.Formatter, first: str) -> list[str]:
    """The headings in the page's language; `first` names what a row is (its business date, or its merchant),
    the rest are the figures: gross − fees − refunds + other credits + carried = net, its status and reason."""
    _ = fmt.gettext
    return [
        first,
        _("Gross"),
        _("Fees"),
        _("Refunds less fees returned"),
        _("Other credits"),
        _("Carried from earlier days"),
        _("Net paid out"),
        _("Status"),
        _("Reason"),
    ]
