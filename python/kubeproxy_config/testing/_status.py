"""``Status`` objects, the API server's error (and some success) responses."""

from __future__ import annotations

from typing import Any

_REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    410: "Gone",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


class StatusError(Exception):
    """An API error carrying the ``Status`` object the server answers with.

    Raised by the Python API of ``FakeAPIServer`` for the same failures the HTTP API reports
    (404 NotFound, 409 AlreadyExists/Conflict, 400 BadRequest, ...).
    """

    def __init__(self, status: dict[str, Any]) -> None:
        super().__init__(f"{status['code']} {status['reason']}: {status['message']}")
        self.status = status

    @property
    def code(self) -> int:
        """The HTTP status code."""
        code: int = self.status["code"]
        return code

    @property
    def reason(self) -> str:
        """The machine-readable reason, e.g. ``NotFound``."""
        reason: str = self.status["reason"]
        return reason


def status(
    code: int, message: str, reason: str | None = None, details: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A failure ``Status`` object."""
    out: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason or _REASONS.get(code, "Unknown"),
        "code": code,
    }
    if details:
        out["details"] = details
    return out


def success(name: str, kind: str, uid: str, group: str = "") -> dict[str, Any]:
    """The ``Status`` returned by a successful DELETE of a non-service object."""
    details: dict[str, Any] = {"name": name, "kind": kind, "uid": uid}
    if group:
        details["group"] = group
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": details,
    }


def _details(resource: str, name: str, group: str) -> dict[str, Any]:
    details: dict[str, Any] = {"name": name, "kind": resource}
    if group:
        details["group"] = group
    return details


def _qualified(resource: str, group: str) -> str:
    return f"{resource}.{group}" if group else resource


def not_found(resource: str, name: str, group: str = "") -> dict[str, Any]:
    """404 NotFound for one object."""
    message = f'{_qualified(resource, group)} "{name}" not found'
    return status(404, message, "NotFound", _details(resource, name, group))


def already_exists(resource: str, name: str, group: str = "") -> dict[str, Any]:
    """409 AlreadyExists on create."""
    message = f'{_qualified(resource, group)} "{name}" already exists'
    return status(409, message, "AlreadyExists", _details(resource, name, group))


def conflict(resource: str, name: str, group: str = "") -> dict[str, Any]:
    """409 Conflict for a write with a stale ``metadata.resourceVersion``."""
    message = (
        f'Operation cannot be fulfilled on {_qualified(resource, group)} "{name}": the object '
        "has been modified; please apply your changes to the latest version and try again"
    )
    return status(409, message, "Conflict", _details(resource, name, group))


def expired(message: str) -> dict[str, Any]:
    """410 Gone with reason ``Expired`` (too old resourceVersion or continue token)."""
    return status(410, message, "Expired")


def too_old(requested: int, oldest: int) -> dict[str, Any]:
    """410 Expired for a watch from a compacted resourceVersion."""
    return expired(f"too old resource version: {requested} ({oldest})")


def bad_request(message: str) -> dict[str, Any]:
    """400 BadRequest."""
    return status(400, message, "BadRequest")


def unauthorized() -> dict[str, Any]:
    """401 Unauthorized (missing or wrong bearer token)."""
    return status(401, "Unauthorized", "Unauthorized")


def internal_error(message: str, code: int = 500) -> dict[str, Any]:
    """A server-side failure (500 InternalError by default)."""
    return status(code, message)
