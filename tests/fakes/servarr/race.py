"""The add race: two clients POST the same title at once; both pass the "already added" validator,
one INSERT wins and the other hits SQLite's UNIQUE index.

Radarr's and Sonarr's error pipelines turn a ``SQLiteException`` whose message contains
"constraint failed" on POST/PUT into **409 Conflict** (reference README §5 "SQLite constraint on
POST/PUT"; R ``src/Radarr.Http/ErrorManagement/RadarrErrorPipeline.cs``, S
``src/Sonarr.Http/ErrorManagement/SonarrErrorPipeline.cs``). The bodies differ by app:

- Radarr builds a new ``ErrorModel { Message }``: ``{"message": "constraint failed\\nUNIQUE
  constraint failed: MovieMetadata.TmdbId"}`` (no ``description``: null, so STJson omits it).
- Sonarr only changes the status code, keeping ``{message, description}`` (the exception's text).

System.Data.SQLite puts its stock message, a newline and SQLite's own message together.
``race_on_add`` (False; True = the next add; n = the next n adds) makes the add store the title, as
the concurrent add did (counted in ``creations``: it got its 201), then answer this 409.
"""
from __future__ import annotations

from .responses import _Abort, _json


class RaceMixin:
    """``race_on_add`` and the 409 it produces."""

    RACE_INDEX = ""  # the unique index the losing INSERT hits, e.g. "MovieMetadata.TmdbId"
    RACE_DESCRIPTION = False  # Sonarr keeps the exception text as ``description``; Radarr drops it

    def _take_race(self) -> bool:
        """True if this add loses a race (and counts it down)."""
        n = self.race_on_add
        if n is True:
            self.race_on_add = False
            return True
        if isinstance(n, int) and n > 0:
            self.race_on_add = n - 1
            return True
        return False

    def _lose_race(self, req, res: dict) -> _Abort:
        """Store the title as the winner's add did, and the 409 the loser gets."""
        self._store(res)
        self.creations[res[self.KEY]] += 1
        msg = f"constraint failed\nUNIQUE constraint failed: {self.RACE_INDEX}"
        body = {"message": msg}
        if self.RACE_DESCRIPTION:
            body["description"] = (
                f"code = Constraint (19), message = System.Data.SQLite.SQLiteException (0x800027AF): {msg}\n"
                f"   at System.Data.SQLite.SQLite3.Reset(SQLiteStatement stmt)\n"
                f"   at System.Data.SQLite.SQLite3.Step(SQLiteStatement stmt)\n"
                f"   at NzbDrone.Core.Datastore.BasicRepository`1.Insert(TModel model)")
        return _Abort(_json(409, body))
