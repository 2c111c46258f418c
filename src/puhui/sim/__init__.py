"""The market simulator: agents driving the real services on a moving clock, with ground truth."""
