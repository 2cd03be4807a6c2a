"""What the store has learned and how it is used: ``registry.py`` (trained surrogates,
promotion), ``retraining.py`` (training a challenger), ``query.py`` (answering a
recommendation query), ``ranking.py`` (ranks from a loaded model), ``evaluation.py``
(leave-task-out evaluation), ``packs.py`` (the shipped packs).
"""
