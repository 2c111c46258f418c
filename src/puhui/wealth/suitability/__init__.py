"""Suitability (投资者适当性管理): the risk questionnaire and product-customer matching."""
