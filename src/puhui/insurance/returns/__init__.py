"""Return-shipping insurance (退货运费险) bought inside checkout: products, per-order quotes, the policy
paid with the goods in one unit of work, the automatic claim when the merchant confirms the return,
and abuse signals (骗保 / 恶意退货)."""
