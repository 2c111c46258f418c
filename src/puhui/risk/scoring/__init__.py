"""Credit scoring: the WOE scorecard, the gradient-boosting challenger, evaluation and the model registry."""
