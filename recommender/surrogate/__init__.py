"""Surrogate models: (task meta-features, encoded config) -> normalised score."""
