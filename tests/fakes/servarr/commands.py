"""``/api/v3/command``: searches and other commands (reference README §3/§4: ``MoviesSearch``,
``SeriesSearch``). Commands are queued (201) and look completed when read again.
"""
from __future__ import annotations

import json
import time

from .binding import STR
from .request import _Req
from .responses import _Resp, _empty, _json
from .util import _iso, _split_pascal


class CommandsMixin:
    """``/command`` routes and the command resources they answer."""

    def _command_route(self, req: "_Req", rest: list[str]) -> _Resp:
        m = req.method
        if not rest:
            bad = self._only(m, "GET", "POST")
            if bad:
                return bad
            if m == "GET":
                return _json(200, [self._command_view(c) for c in self.commands])
            raw = self._bind(req, {"name": STR}, f"{self.APP_NAME}.Api.V3.Commands.CommandResource")
            data = json.loads(req.body)
            name = raw.get("name") or ""
            canon = next((c for c in self.COMMANDS if c.lower() == name.lower()), None)
            if canon is None:
                raise self._bad_request(f"Unknown command: {name}")
            body = {k: v for k, v in data.items() if k.lower() != "name"}
            cmd = self._new_command(canon, body)
            self.commands.append(cmd)
            return _json(201, self._command_view(cmd, fresh=True),
                         [("Location", f"{req.base_url}/api/v3/command/{cmd['id']}")])
        if len(rest) == 1 and (cmd_id := self._int_seg(rest[0])) is not None:
            bad = self._only(m, "GET", "DELETE")
            if bad:
                return bad
            cmd = next((c for c in self.commands if c["id"] == cmd_id), None)
            if cmd is None:
                return self._not_found_problem()
            if m == "DELETE":
                cmd["status"] = "cancelled"
                return _empty(200)
            return _json(200, self._command_view(cmd))
        return _empty(404)

    def _new_command(self, name: str, body: dict) -> dict:
        cbody = dict(body)
        cbody.update({"sendUpdatesToClient": True, "updateScheduledTask": True, "completionMessage": "Completed",
                      "requiresDiskAccess": False, "isExclusive": False})
        if self.APP_NAME == "Radarr":
            cbody["isTypeExclusive"] = False
        cbody.update({"isLongRunning": False, "name": name, "trigger": "manual", "suppressMessages": False})
        return {"name": name, "commandName": _split_pascal(name), "body": cbody, "priority": "normal",
                "status": "queued", "result": "unknown", "queued": _iso(), "trigger": "manual",
                "sendUpdatesToClient": True, "updateScheduledTask": True, "id": len(self.commands) + 1,
                "_t": time.time()}

    @staticmethod
    def _command_view(cmd: dict, fresh: bool = False) -> dict:
        out = {k: v for k, v in cmd.items() if not k.startswith("_")}
        if not fresh and out["status"] == "queued":  # "runs" instantly once looked at again
            out.update(status="completed", result="successful", message="Completed",
                       started=_iso(cmd["_t"]), ended=_iso(cmd["_t"]), duration="00:00:00.0123456",
                       stateChangeTime=_iso(cmd["_t"]))
            order = ["name", "commandName", "message", "body", "priority", "status", "result", "queued",
                     "started", "ended", "duration", "trigger", "stateChangeTime", "sendUpdatesToClient",
                     "updateScheduledTask", "id"]
            out = {k: out[k] for k in order if k in out}
        return out
