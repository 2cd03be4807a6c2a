"""A user's data as one in-memory dataset: files, folders and bundled datasets.

``loading.py`` (:func:`~recommender.datasets.loading.load_dataset`, the :class:`Dataset`),
``files.py`` (table files read with an in-memory DuckDB), ``labels.py`` (targets and
problem types), ``bundled.py`` (``sklearn:<name>`` datasets that installed packages ship),
``fingerprints.py`` (a dataset's content digest and the store task it belongs to).
"""
