"""The validator rules both apps run on POST/PUT (reference README §3/§4 body tables, §5).

Path validators, ``QualityProfileId`` (> 0, must exist), ``rootFolderPath``/``path``, the
"already added" failure and the hand-built "not found" failure of ``AddSkyhookData``.
"""
from __future__ import annotations

from .responses import _Abort
from .util import _blank, _pascal, _path_eq, _path_valid
from .validation import _failure, _greater_than, _invalid_path, _not_empty


def _with_add_options(resource: dict, opts: dict) -> dict:
    """The 201 answer to an add: the resource with addOptions just before `ratings`, where the
    real serializer puts it."""
    out: dict = {}
    for k, v in resource.items():
        if k == "ratings":
            out["addOptions"] = opts
        out[k] = v
    return out


class AddRulesMixin:
    """Shared + Post/Put validator rules, in the order the controllers declare them."""

    def _check_profile_and_paths(self, data: dict, post: bool, failures: list[dict]) -> None:
        """The Shared + Post/Put validator rules common to both apps (in declaration order)."""
        path, rfp = data.get("path"), data.get("rootFolderPath")
        if not _blank(path):  # SharedValidator Path (Cascade.Stop)
            if not _path_valid(path):
                failures.append(_invalid_path("Path", path))
            elif self._root_folder_exists(path):
                failures.append(_failure("Path", f"Path '{path}' is already configured as a root folder",
                                         path, "RootFolderValidator", {"path": path}))
            else:
                other = next((r for r in self.library.values() if _path_eq(r.get("path"), path)
                              and r.get("id") != data.get("id")), None)
                if other is not None:
                    what = "movie" if self.RESOURCE == "movie" else "series"
                    failures.append(_failure("Path", f"Path '{path}' is already configured for an existing {what}",
                                             path, f"{self.MODEL}PathValidator", {"path": path}))
        qp = data.get("qualityProfileId", 0)  # SharedValidator QualityProfileId (Cascade.Stop)
        if qp <= 0:
            failures.append(_greater_than("QualityProfileId", qp))
        elif not any(p["id"] == qp for p in self.quality_profiles):
            failures.append(_failure("QualityProfileId", "Quality Profile does not exist", qp,
                                     "QualityProfileExistsValidator"))
        self._more_shared_rules(data, failures)  # e.g. Sonarr v3's LanguageProfileId (sonarr/v3.py)
        if post:
            if _blank(rfp):
                if _blank(path):
                    failures.append(_not_empty("Path", path))
                elif not _path_valid(path):
                    failures.append(_invalid_path("Path", path))
            if _blank(path):
                if _blank(rfp):
                    failures.append(_not_empty("RootFolderPath", rfp))
                elif not _path_valid(rfp):
                    failures.append(_invalid_path("RootFolderPath", rfp))
                elif not self._root_folder_exists(rfp):
                    failures.append(_failure("RootFolderPath", f"Root folder '{rfp}' does not exist", rfp,
                                             "RootFolderExistsValidator", {"path": rfp}))
        else:
            if _blank(path):
                failures.append(_not_empty("Path", path))
            elif not _path_valid(path):
                failures.append(_invalid_path("Path", path))

    def _exists_failure(self, ext_id: int) -> dict:
        prop = _pascal(self.KEY)
        return _failure(prop, self.EXISTS_MESSAGE, ext_id, self.EXISTS_CODE)

    def _upstream_not_found(self, ext_id: int, path: str | None) -> _Abort:
        return self._validation_failed([_failure(_pascal(self.KEY), f"{self.NOT_FOUND_MESSAGE} Path: {path or ''}",
                                                 ext_id)])

    def _more_shared_rules(self, data: dict, failures: list[dict]) -> None:
        """SharedValidator rules after QualityProfileId that only some versions have."""
