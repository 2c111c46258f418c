"""Puhui (普惠): an internet-finance platform on one double-entry ledger."""

__version__ = "0.1.0"
