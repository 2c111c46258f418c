"""The HTTP API: the FastAPI app, problem responses, auth, idempotency and the audit trail."""
