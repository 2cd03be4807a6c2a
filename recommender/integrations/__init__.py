"""Ways into the recommender from other tools (``recommender.integrations.optuna``)."""
