"""Retraining: the crontab for a store, ``python -m pipelines.retrain.shipped`` for data/."""
