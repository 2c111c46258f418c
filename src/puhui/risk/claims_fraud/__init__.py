"""The claims-fraud model (理赔反欺诈): features from claims and payments history, a fitted model, its hook."""
