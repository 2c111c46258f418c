"""Return-shipping insurance tables (退货运费险), on the platform's one `metadata`.

Money lives in the ledger (the buyer's wallet, `insurer.<id>.premium_held`); these rows say which product
versions exist, which payment each policy covers, and which claims were paid. A buyer's or a merchant's
orders and returns are counted from the policies and claims. Amounts in fen, times in UTC microseconds."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, UniqueConstraint

from puhui.db.tables import ID_LENGTH, metadata

# A product version (产品版本): the pricing terms a policy points to forever.
return_shipping_products = Table(
    "return_shipping_products",
    metadata,
    Column("code", String(48), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("insurer_id", String(ID_LENGTH), nullable=False),
    Column("claim_amount", BigInteger, nullable=False),
    Column("target_loss_ratio", String(12), nullable=False),
    Column("min_premium", BigInteger, nullable=False),
    Column("max_premium", BigInteger, nullable=False),
    Column("credibility_orders", Integer, nullable=False),
    Column("prior_return_rate", String(12), nullable=False),
    Column("created_at", BigInteger, nullable=False),
)

# A policy (保单): one per payment for goods; `status` active until the return is confirmed (claimed). Its term
# runs from the China date of `created_at` (`models.cover_of`); an active policy past it reads `expired`, a
# status never stored (`models.policy_status`).
return_shipping_policies = Table(
    "return_shipping_policies",
    metadata,
    Column("id", String(ID_LENGTH), primary_key=True),
    Column("payment_id", String(ID_LENGTH), nullable=False, unique=True),
    Column("customer_id", String(ID_LENGTH), nullable=False),
    Column("client_id", String(ID_LENGTH), nullable=False),
    Column("merchant_id", String(ID_LENGTH), nullable=False),
    Column("insurer_id", String(ID_LENGTH), nullable=False),
    Column("product_code", String(48), nullable=False),
    Column("product_version", Integer, nullable=False),
    Column("order_amount", BigInteger, nullable=False),
    Column("premium", BigInteger, nullable=False),
    Column("claim_amount", BigInteger, nullable=False),
    Column("return_probability", String(40), nullable=False),
    Column("status", String(12), nullable=False),  # active | claimed (expired is read, not stored)
    Column("created_at", BigInteger, nullable=False),
    UniqueConstraint("customer_id", "client_id", name="uq_return_shipping_policies_customer_client"),
    Index("ix_return_shipping_policies_merchant", "merchant_id", "created_at"),
)

# A claim (理赔) paid when the merchant confirmed the return: at most one per policy.
return_shipping_claims = Table(
    "return_shipping_claims",
    metadata,
    Column("id", String(ID_LENGTH), primary_key=True),
    Column("policy_id", String(ID_LENGTH), nullable=False, unique=True),
    Column("customer_id", String(ID_LENGTH), nullable=False),
    Column("merchant_id", String(ID_LENGTH), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("transfer_id", String(ID_LENGTH), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Index("ix_return_shipping_claims_customer", "customer_id", "created_at"),
    Index("ix_return_shipping_claims_merchant", "merchant_id", "created_at"),
)

RETURN_SHIPPING_TABLES = (return_shipping_products, return_shipping_policies, return_shipping_claims)
