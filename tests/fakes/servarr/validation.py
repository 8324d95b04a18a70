"""FluentValidation failures as Radarr/Sonarr serialize them (reference README §5).

A 400 for a validator failure is a bare JSON *array* of these. Validator failures carry
``errorCode`` (the validator class name, FluentValidation 9 default) and the formatted-message
fields; hand-built failures (``AddMovieService``/``AddSeriesService`` "not found") have neither.
"""
from __future__ import annotations

from typing import Any

from .util import _display_name


def _failure(prop: str, message: str, attempted: Any, code: str | None = None,
             placeholders: dict | None = None) -> dict:
    """One FluentValidation ValidationFailure serialized with STJson (nulls omitted)."""
    f: dict[str, Any] = {"propertyName": prop, "errorMessage": message}
    if attempted is not None:
        f["attemptedValue"] = attempted
    f["severity"] = "error"
    if code is not None:  # validator failures; hand-built ones have no code/arguments
        f["errorCode"] = code
        f["formattedMessageArguments"] = []
        ph = dict(placeholders or {})
        ph["propertyName"] = _display_name(prop)
        ph["propertyValue"] = attempted
        f["formattedMessagePlaceholderValues"] = ph
    return f


def _not_empty(prop: str, value: Any) -> dict:
    return _failure(prop, f"'{_display_name(prop)}' must not be empty.", value, "NotEmptyValidator")


def _greater_than(prop: str, value: Any, than: int = 0) -> dict:
    return _failure(prop, f"'{_display_name(prop)}' must be greater than '{than}'.", value,
                    "GreaterThanValidator", {"comparisonValue": than})


def _invalid_path(prop: str, value: Any) -> dict:
    ph = {"path": value} if value is not None else {}
    return _failure(prop, f"Invalid Path: '{value if value is not None else ''}'", value, "PathValidator", ph)
