"""Supply-chain finance (供应链金融): confirmed payables of core enterprises, financed for their suppliers."""
