"""Funding partners (资金方) in joint lending (联合贷款) and facilitation (助贷)."""
