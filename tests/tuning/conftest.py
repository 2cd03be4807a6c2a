from tests.fewshot.conftest import surrogate, training_data  # noqa: F401  (shared fixtures)
