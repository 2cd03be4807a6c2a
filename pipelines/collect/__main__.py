"""``python -m pipelines.collect``: collect runs, then write ``data/`` (see ``collect.py``)."""

from pipelines.collect.collect import main

main()
