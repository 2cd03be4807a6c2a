"""Build the shipped meta-dataset and its surrogates (``python -m pipelines.collect``)."""
