"""Reserves and insurance accounting for partner insurers (准备金与保险会计)."""
