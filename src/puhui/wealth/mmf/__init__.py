"""The money-market fund wallet (余额宝-style): orders, daily figures, distribution, end of day."""
