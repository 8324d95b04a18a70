"""Error bodies other than validation failures (reference README §5).

ASP.NET ProblemDetails objects (400 binding errors, 404 unknown id, 405, 415), Radarr's
``BadRequestException`` body ``{message, content}``, ``ModelNotFoundException`` as 404
``{message, description}`` and the FluentValidation array for validator failures.
"""
from __future__ import annotations

from typing import Any

from .responses import PROBLEM_CT, _Abort, _Resp, _json
from .util import _dumps, _trace_id


class ErrorBodiesMixin:
    """Builders for ProblemDetails, BadRequest, ModelNotFound and validation-failure answers."""

    def _problem(self, status: int, title: str, errors: dict | None = None) -> _Resp:
        body: dict[str, Any] = {"type": self.PROBLEM_TYPES.get(status, "about:blank"), "title": title,
                                "status": status}
        if errors is not None:
            body["errors"] = errors
        body["traceId"] = _trace_id()
        return _Resp(status, _dumps(body), PROBLEM_CT)

    def _not_found_problem(self) -> _Resp:
        return self._problem(404, "Not Found")

    def _validation_problem(self, errors: dict) -> _Abort:
        return _Abort(self._problem(400, "One or more validation errors occurred.", errors))

    @staticmethod
    def _bad_request(content: str) -> _Abort:
        return _Abort(_json(400, {"message": f"BadRequest: {content}", "content": content}))

    def _model_not_found(self, arr_id: int) -> _Abort:
        msg = f"{self.MODEL} with ID {arr_id} does not exist"
        return _Abort(_json(404, {"message": msg, "description": (
            f"NzbDrone.Core.Datastore.ModelNotFoundException: {msg}\n"
            f"   at NzbDrone.Core.Datastore.BasicRepository`1.Get(Int32 id)")}))

    @staticmethod
    def _validation_failed(failures: list[dict]) -> _Abort:
        return _Abort(_json(400, failures))
