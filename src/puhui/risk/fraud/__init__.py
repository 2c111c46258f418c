"""Real-time fraud decisions: rules as data, window state kept by the events, the decision engine."""
