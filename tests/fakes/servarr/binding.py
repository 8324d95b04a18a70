"""Request bodies bound the way System.Text.Json binds them (reference README §2).

Property names are case-insensitive, unknown properties are ignored, enums accept camelCase
strings or their integer values, and a wrong JSON type is a 400 ValidationProblemDetails
*object* (not the FluentValidation array of §5, §10 "Validation errors").
"""
from __future__ import annotations

import json
from typing import Any

from .request import _Req
from .responses import _Abort


INT, INT_N, BOOL, BOOL_N, STR, INTSET = "int", "int?", "bool", "bool?", "str", "intset"
_DOTNET = {INT: "System.Int32", INT_N: "System.Nullable`1[System.Int32]", BOOL: "System.Boolean",
           BOOL_N: "System.Nullable`1[System.Boolean]", STR: "System.String",
           INTSET: "System.Collections.Generic.HashSet`1[System.Int32]"}


class _Enum:
    """An enum property: its .NET type name and camelCase values (integers index them)."""

    def __init__(self, dotnet: str, values: list[str]):
        self.dotnet, self.values = dotnet, values


class _Obj:
    """A nested object (or a list of them when many=True) with its own property spec."""

    def __init__(self, dotnet: str, spec: dict, many: bool = False):
        self.dotnet, self.spec, self.many = dotnet, spec, many


class _BindError(Exception):
    """A JSON value of the wrong type at a JSON path (becomes a ProblemDetails 400)."""

    def __init__(self, path: str, dotnet: str):
        super().__init__(path)
        self.path, self.dotnet = path, dotnet


def _bind_value(value: Any, kind: Any, path: str) -> Any:
    if isinstance(kind, _Enum):
        if isinstance(value, str):
            for v in kind.values:
                if v.lower() == value.lower():
                    return v
        elif isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(kind.values):
            return kind.values[value]
        raise _BindError(path, kind.dotnet)
    if isinstance(kind, _Obj):
        if value is None:
            return None
        if kind.many:
            if not isinstance(value, list):
                raise _BindError(path, f"System.Collections.Generic.List`1[{kind.dotnet}]")
            return [_bind_obj(v, kind.spec, f"{path}[{i}]", kind.dotnet) for i, v in enumerate(value)]
        return _bind_obj(value, kind.spec, path, kind.dotnet)
    is_int = isinstance(value, int) and not isinstance(value, bool)
    if kind == INT and is_int and -2**31 <= value < 2**31:
        return value
    if kind == INT_N and (value is None or (is_int and -2**31 <= value < 2**31)):
        return value
    if kind == BOOL and isinstance(value, bool):
        return value
    if kind == BOOL_N and (value is None or isinstance(value, bool)):
        return value
    if kind == STR and (value is None or isinstance(value, str)):
        return value
    if kind == INTSET:
        if value is None:
            return None
        if isinstance(value, list):
            for i, v in enumerate(value):
                if not (isinstance(v, int) and not isinstance(v, bool)):
                    raise _BindError(f"{path}[{i}]", _DOTNET[INTSET])
            return list(dict.fromkeys(value))
    raise _BindError(path, _DOTNET[kind])


def _bind_obj(data: Any, spec: dict, path: str, dotnet: str) -> dict:
    if not isinstance(data, dict):
        raise _BindError(path, dotnet)
    lower = {k.lower(): k for k in spec}
    out: dict[str, Any] = {}
    for key, value in data.items():
        canon = lower.get(key.lower())
        if canon is None:
            continue  # unknown properties are ignored
        out[canon] = _bind_value(value, spec[canon], f"{path}.{canon}")
    return out


def _line_col(raw: str, pos: int) -> tuple[int, int]:
    line = raw.count("\n", 0, pos)
    col = pos - (raw.rfind("\n", 0, pos) + 1)
    return line, col


class BindingMixin:
    """Reads JSON bodies and query integers; binding errors become ProblemDetails (§5)."""

    def _bind(self, req: "_Req", spec: dict, dotnet: str) -> dict:
        ctype = (req.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != "application/json" and not ctype.endswith("+json"):
            raise _Abort(self._problem(415, "Unsupported Media Type"))
        raw = req.body.decode("utf-8", errors="replace")
        if not raw.strip():
            raise self._validation_problem({"": ["A non-empty request body is required."]})
        try:
            data = json.loads(raw)
        except ValueError as exc:
            pos = getattr(exc, "pos", 0) or 0
            line, col = _line_col(raw, pos)
            ch = raw[pos] if pos < len(raw) else ""
            raise self._validation_problem({"$": [
                f"'{ch}' is an invalid start of a value. Path: $ | LineNumber: {line} | BytePositionInLine: {col}."
            ]})
        try:
            return _bind_obj(data, spec, "$", dotnet)
        except _BindError as exc:
            leaf = exc.path.rsplit(".", 1)[-1].split("[")[0]
            pos = raw.lower().find(f'"{leaf.lower()}"') if exc.path != "$" else 0
            line, col = _line_col(raw, max(pos, 0))
            raise self._validation_problem({exc.path: [
                f"The JSON value could not be converted to {exc.dotnet}. Path: {exc.path} | "
                f"LineNumber: {line} | BytePositionInLine: {col + 1}."
            ]})

    def _int_query(self, req: "_Req", name: str) -> int | None:
        raw = req.q(name)
        if raw is None or raw == "":
            return None
        try:
            return int(raw)
        except ValueError:
            raise self._validation_problem({name: [f"The value '{raw}' is not valid."]})
