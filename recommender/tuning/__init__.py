"""Tuning one task: ``loop.py`` (the loop of ``recommender tune``), ``sampler.py`` (the
Optuna sampler, :class:`~recommender.tuning.sampler.RecommenderSampler`) and
``overlap.py`` (where a distribution an objective asks for meets the space's parameter).
"""
