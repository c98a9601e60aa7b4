"""Errors: every failed request raises an :class:`ArbiterError` carrying the server's
own ``code`` and ``message`` (``{"error":{"code","message"}}``), the HTTP status and
the request's method and path — never its headers, so the token cannot leak into a
traceback or a log."""

from __future__ import annotations

from typing import Any


class ArbiterError(Exception):
    """A request the server refused (4xx), could not serve (5xx) or never answered.

    ``status`` is the HTTP status (0 when no response came), ``code`` the server's
    error code (``"invalid"``, ``"not_found"``, …), ``message`` its sentence and
    ``details`` the rest of the server's JSON answer (an import's ``report``).
    """

    def __init__(
        self, status: int, code: str, message: str, method: str = "", path: str = "", details: dict[str, Any] | None = None
    ) -> None:
        self.status = status
        self.details = details or {}
        self.code = code
        self.message = message
        self.method = method
        self.path = path
        where = f" ({method} {path})" if method else ""
        super().__init__(f"{status} {code}: {message}{where}" if status else f"{code}: {message}{where}")


class AuthenticationError(ArbiterError):
    """401: no token, or a token the server does not know (revoked, mistyped)."""


class PermissionDenied(ArbiterError):
    """403: the token's user may not do this (an annotator exporting, say)."""


class NotFound(ArbiterError):
    """404: no such project, pair, assignment or route."""


class Conflict(ArbiterError):
    """409: the state forbids it now — an expired lease, another upload running."""


class InvalidRequest(ArbiterError):
    """400 or 422: the request itself is wrong; ``message`` names the field."""


class Unavailable(ArbiterError):
    """503 after every retry, or the server could not be reached: nothing was changed."""


class ImportRefused(InvalidRequest):
    """An upload refused because of bad rows; nothing of it was written.

    ``rows`` are the 0-based indices of the bad rows in what you passed (counting
    across batches), ``errors`` the server's sentences for them, ``report`` the
    server's whole report, and ``committed_rows`` how many rows earlier batches had
    already stored (0 without ``batch=``).
    """

    def __init__(
        self,
        message: str,
        *,
        rows: list[int],
        errors: list[str],
        report: dict[str, Any],
        committed_rows: int,
        method: str = "",
        path: str = "",
    ) -> None:
        super().__init__(422, "import_refused", message, method, path, {"report": report})
        self.rows = rows
        self.errors = errors
        self.report = report
        self.committed_rows = committed_rows

    @property
    def row(self) -> int | None:
        """The first bad row's index, or None when the server named no line."""
        return self.rows[0] if self.rows else None


class ExportFailed(ArbiterError):
    """An export job that ended in an error on the server."""


_BY_STATUS: dict[int, type[ArbiterError]] = {
    400: InvalidRequest,
    401: AuthenticationError,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    413: InvalidRequest,
    415: InvalidRequest,
    422: InvalidRequest,
    503: Unavailable,
}


def error_for(status: int, code: str, message: str, method: str, path: str, details: dict[str, Any]) -> ArbiterError:
    """The exception for a status (ArbiterError for the rest)."""
    return _BY_STATUS.get(status, ArbiterError)(status, code, message, method, path, details)
