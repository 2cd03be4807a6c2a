"""Tuning one task: ``loop.py`` (the loop of ``recommender tune``) and ``sampler.py`` (the
Optuna sampler, :class:`~recommender.tuning.sampler.RecommenderSampler`).
"""
