"""Insurer settlement (保费划转): commission, premium remittance and daily partner files."""
