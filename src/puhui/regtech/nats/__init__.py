"""Monitoring at scale over NATS JetStream (`puhui regtech nats`): the relay partitions the outbox's
fund flows by party (`relay`), monitor workers consume their partitions (`workers`), and `server`
runs a real `nats-server` for tests and demos. See docs/regtech-nats.md."""
