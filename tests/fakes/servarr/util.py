"""Small pure helpers: timestamps, JSON bytes, deterministic numbers, title and path strings.

DateTimes are written like Radarr/Sonarr's STJUtcConverter (``yyyy-MM-ddTHH:mm:ssZ``) and doubles
like System.Text.Json (reference README §2).
"""
from __future__ import annotations

import hashlib
import json
import re
import time
import uuid
from typing import Any


def _iso(ts: float | None = None) -> str:
    """DateTime as Radarr/Sonarr's STJUtcConverter writes it: ``yyyy-MM-ddTHH:mm:ssZ``."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if ts is None else ts))


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _mix(n: int, salt: int) -> int:
    """Cheap deterministic pseudo-random number from an id."""
    x = (n * 2654435761 + salt * 40503 + 0x9E3779B9) & 0xFFFFFFFF
    x ^= x >> 15
    x = (x * 2246822519) & 0xFFFFFFFF
    x ^= x >> 13
    return x


def _hex(seed: str, n: int = 27) -> str:
    return hashlib.md5(seed.encode()).hexdigest()[:n]


def _trace_id() -> str:
    return f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-00"


def _display_name(prop: str) -> str:
    """FluentValidation's display name: 'TmdbId' -> 'Tmdb Id'."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", prop)


def _pascal(prop: str) -> str:
    return prop[:1].upper() + prop[1:]


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def _path_valid(p: Any) -> bool:
    if not isinstance(p, str) or not p.strip() or "\0" in p:
        return False
    return p.startswith("/") or bool(re.match(r"^[A-Za-z]:[\\/]", p)) or p.startswith("\\\\")


def _path_eq(a: str | None, b: str | None) -> bool:
    if a is None or b is None:
        return False
    return a.rstrip("/\\") == b.rstrip("/\\")


def _folder_name(title: str) -> str:
    t = title.replace(":", " -")
    t = re.sub(r'[<>"/\\|?*]', "", t)
    return re.sub(r"\s+", " ", t).strip().rstrip(".")


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "series"


def _sort_title(title: str) -> str:
    t = title.lower()
    for article in ("the ", "a ", "an "):
        if t.startswith(article):
            return t[len(article):]
    return t


def _clean_title(title: str, drop_words: bool = False) -> str:
    t = title.lower()
    if drop_words:
        t = re.sub(r"\b(a|an|the|and|or|of)\b", "", t)
    return re.sub(r"[^a-z0-9]", "", t)


def _split_pascal(name: str) -> str:
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name)


def _num(x: float) -> float | int:
    """Doubles the way System.Text.Json writes them (100.0 -> 100)."""
    return int(x) if float(x).is_integer() else round(x, 2)
