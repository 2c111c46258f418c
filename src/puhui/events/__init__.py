"""Events: the transactional outbox and its consumers."""
