"""The sandbox bank: an in-memory bank channel with seeded faults, for demos and tests."""
