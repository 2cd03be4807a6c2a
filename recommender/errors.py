"""Errors a user can cause. Each message is one line: expected, got, what to do."""

from __future__ import annotations

import re
from typing import Any

# Words of a message that differ by who reads it, kept apart until the message is shown:
# the command line's text, then the Python API's. See :func:`option`.
_SAID = re.compile("\x1f([^\x1e\x1f]*)\x1e([^\x1e\x1f]*)\x1f")


def said(command_line: str, python: str) -> str:
    """Text of a message that the command line and the Python API say differently."""
    return f"\x1f{command_line}\x1e{python}\x1f"


def option(name: str, value: Any = None) -> str:
    """Name an argument in an error message, as whoever reads it calls it.

    From Python the message says ``name=`` (or ``name='value'``); on the command line
    it says ``--name`` (or ``--name value``).

    >>> str(RecommenderError(f"no column y; pass one with {option('target')}"))
    'no column y; pass one with target='
    >>> RecommenderError(f"use {option('problem', 'multiclass')}").command_line()
    'use --problem multiclass'
    """
    flag = "--" + name.replace("_", "-")
    if value is None:
        return said(flag, f"{name}=")
    return said(f"{flag} {value}", f"{name}={value!r}")


class RecommenderError(Exception):
    """Base class for every error caused by user input or state.

    ``str(err)`` is the message as the Python API says it; :meth:`command_line` as the
    command line does (options named with :func:`option` become ``--name``).
    """

    def __str__(self) -> str:
        return _SAID.sub(lambda m: m[2], super().__str__())

    def command_line(self) -> str:
        """The message with its options as command-line flags."""
        return _SAID.sub(lambda m: m[1], super().__str__())


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
