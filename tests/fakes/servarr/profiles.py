"""Quality profiles, root folders and system/status: the settings a client checks before adding
(reference README §3: ``GET /qualityprofile``, ``GET /rootfolder``; §2: ``system/status``).
"""
from __future__ import annotations

from .util import _path_eq


class ProfilesMixin:
    """Quality profiles, root folders and the app hooks for defaults and system/status."""

    def _system_status(self) -> dict:
        raise NotImplementedError

    def _default_catalog(self) -> dict[int, dict]:
        return {}

    def _default_quality_profiles(self) -> list[dict]:
        raise NotImplementedError

    def _root_folder_resources(self) -> list[dict]:
        out = []
        for i, p in enumerate(self.root_folders, start=1):
            out.append({"path": p, "accessible": True, "freeSpace": 1_843_561_766_912 - i * 7_340_032,
                        "unmappedFolders": [], "id": i})
        return out

    def _root_folder_exists(self, path: str) -> bool:
        return any(_path_eq(path, rf) for rf in self.root_folders)

    def _best_root_folder(self, path: str | None) -> str | None:
        if not path:
            return None
        for rf in sorted(self.root_folders, key=len, reverse=True):
            if path.rstrip("/").startswith(rf.rstrip("/") + "/"):
                return rf
        return path.rsplit("/", 1)[0] or "/"
