"""The trainers that ``validate``, ``tune`` and the collection share: ``trainers.py`` (the
``TRAINERS`` registry, one per built-in space), ``common.py`` (results, devices, splits,
metrics), and one module per trainer (``tabular.py``, ``text.py``, ``image.py``).
"""
