"""Fund distribution (基金代销): products, pricing, orders and NAV files for non-money-market funds."""
