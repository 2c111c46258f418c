"""Revolving credit lines (循环授信) and pay-later checkout (先享后付) drawn on them."""
