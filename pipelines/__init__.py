"""Scripts that build, benchmark and retrain recommender; run each as ``python -m pipelines.X``."""
