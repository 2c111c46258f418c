"""The bank channel (银行通道): the interface, signed notifications, the worker, the statement file."""
