"""Errors a user can cause. Each message is one line: expected, got, what to do."""

from __future__ import annotations


class RecommenderError(Exception):
    """Base class for every error caused by user input or state."""


class StoreError(RecommenderError):
    """The store cannot be opened, is busy, or is inconsistent."""


class SchemaVersionError(StoreError):
    """The store's schema version does not match the code's."""


class IngestError(RecommenderError):
    """A source could not be ingested; nothing from it was stored."""


class SpaceError(RecommenderError):
    """A search space definition or a configuration is invalid."""


class DatasetError(RecommenderError):
    """A dataset cannot be read or described."""


class ModelError(RecommenderError):
    """A surrogate model is missing, corrupt or cannot be trained."""


class NotFittedError(RecommenderError, ValueError):
    """An estimator was used before ``fit``."""


class InvalidArgumentError(RecommenderError, ValueError):
    """An argument is out of range or of the wrong kind (``top_k=0``, an unknown option)."""
