"""Search spaces: ``space.py`` (the :class:`~recommender.spaces.space.Space`, JSON round-trip,
unit-cube encoding, built-in and stored spaces), ``params.py`` (one hyperparameter and its
checks), ``infer.py`` (a space read from the runs stored under it) and the built-in
spaces' JSON files beside them.
"""
