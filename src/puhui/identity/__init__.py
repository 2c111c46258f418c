"""Identity: customers, merchants, KYC tiers, consent, the PII vault, authentication and roles."""
