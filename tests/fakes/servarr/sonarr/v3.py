"""Sonarr v3 mode: ``version`` starting with "3." (e.g. ``fake.version = "3.0.10.1567"``).

What changes against v4 (reference README §4 ``languageProfileId`` row, §10 "Sonarr v3 vs v4
``languageProfileId``"; S@v3 ``src/Sonarr.Api.V3/Series/SeriesModule.cs``,
``src/NzbDrone.Core/Validation/LanguageProfileExistsValidator.cs``):

- ``languageProfileId`` is a real property: bound from POST/PUT bodies, stored and returned.
- ``SharedValidator.RuleFor(s => s.LanguageProfileId).SetValidator(LanguageProfileExistsValidator)``
  on POST *and* PUT: an id that is not a profile (0 when the body has none) fails with
  "Language profile does not exist" (errorCode ``LanguageProfileExistsValidator``).
- ``GET /api/v3/languageprofile`` lists real profiles (``language_profiles``; default one,
  ``{id: 1, name: "English"}``), and ``/languageprofile/{id}`` 404s for unknown ids.

In v4 ``languageProfileId`` is read-only and always 1, and ``/languageprofile`` answers a single
deprecated placeholder (S ``LanguageProfileController.cs`` ``[Obsolete]``).
"""
from __future__ import annotations

from ..binding import INT
from ..request import _Req
from ..responses import _Resp, _empty, _json
from ..validation import _failure
from ..wordlists import ENGLISH

DEPRECATED_PROFILE = {"name": "Deprecated", "upgradeAllowed": True, "cutoff": ENGLISH,
                      "languages": [{"language": ENGLISH, "allowed": True}], "id": 1}


def language_profile(profile_id: int, name: str, languages: list[dict] | None = None) -> dict:
    """A v3 ``LanguageProfileResource``: allowed languages, the first one as the cutoff."""
    langs = languages or [ENGLISH]
    return {"name": name, "upgradeAllowed": False, "cutoff": dict(langs[0]),
            "languages": [{"language": dict(lang), "allowed": True} for lang in langs], "id": profile_id}


class SonarrV3Mixin:
    """``is_v3``, ``language_profiles`` and what v3 does with ``languageProfileId``."""

    @property
    def is_v3(self) -> bool:
        return str(self.version).startswith("3.")

    def _reset_language_profiles(self) -> None:
        if not hasattr(self, "language_profiles"):
            self.language_profiles: list[dict] = []
        self.language_profiles[:] = [language_profile(1, "English")]

    def _input_spec(self) -> dict:
        return dict(self.INPUT_SPEC, languageProfileId=INT) if self.is_v3 else self.INPUT_SPEC

    def _more_shared_rules(self, data: dict, failures: list[dict]) -> None:
        if not self.is_v3:
            return
        lp = data.get("languageProfileId", 0)
        if not any(p.get("id") == lp for p in self.language_profiles):
            failures.append(_failure("LanguageProfileId", "Language profile does not exist", lp,
                                     "LanguageProfileExistsValidator"))

    def _languageprofile_route(self, req: _Req, rest: list[str]) -> _Resp:
        m = req.method
        profiles = self.language_profiles if self.is_v3 else [DEPRECATED_PROFILE]
        if not rest:
            return self._only(m, "GET") or _json(200, profiles)
        if len(rest) == 1 and (pid := self._int_seg(rest[0])) is not None:
            bad = self._only(m, "GET")
            if bad:
                return bad
            if not self.is_v3:
                return _json(200, DEPRECATED_PROFILE)
            found = next((p for p in profiles if p.get("id") == pid), None)
            return _json(200, found) if found else self._not_found_problem()
        return _empty(404)
