"""The sandbox (沙箱): a platform clock that operators and testers may move forward, never in production."""
