"""recommender: hyperparameter recommendations for a new dataset, learned across tasks.

The command line is ``recommender`` (:mod:`recommender.cli`); the Python API lives in
the modules: :mod:`recommender.recommend`, :mod:`recommender.metafeatures`,
:mod:`recommender.registry`, :mod:`recommender.validate`, :mod:`recommender.store`.
Nothing heavy is imported here, so ``recommender --help`` stays fast.
"""
