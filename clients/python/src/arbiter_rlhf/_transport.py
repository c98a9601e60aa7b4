"""One HTTP connection pool per client: the token in one header, JSON errors turned
into exceptions, 503s retried after the server's ``Retry-After``."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import httpx

from .errors import ArbiterError, Unavailable, error_for

__version__ = "0.1.0"

Params = Mapping[str, "str | int | float | bool | None"]


class Transport:
    """Requests to one server with one token.

    ``retries`` is how many times a 503 (the database being reached again, a full
    disk freed) is retried, each after the server's ``Retry-After`` (at most
    ``max_retry_wait`` seconds). A 503 changed nothing on the server, so every
    request — submits and uploads included — may be sent again. Requests that never
    reach the server (connection refused, reset) are retried the same way only when
    they are reads.
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        timeout: float,
        retries: int,
        max_retry_wait: float,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        # A transport passed in is the caller's (shared by `as_user` clients too): closing this client leaves it open.
        self._owns_transport = transport is None
        self.retries = retries
        self.max_retry_wait = max_retry_wait
        self._client = httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {token}", "User-Agent": f"arbiter-rlhf/{__version__}"},
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"Transport(url={self.url!r})"

    def close(self) -> None:
        if self._owns_transport:
            self._client.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json_body: Any = None,
        content: Callable[[], Iterator[bytes]] | None = None,
        content_type: str | None = None,
        timeout: float | None = None,
    ) -> httpx.Response:
        """Sends the request and returns a 2xx response; raises for everything else.

        ``content`` makes a fresh body iterator per attempt (an upload sent again
        after a 503 starts over)."""
        query = _query(params)
        headers: dict[str, str] = {}
        if content_type:
            headers["Content-Type"] = content_type
        attempt = 0
        while True:
            attempt += 1
            try:
                body: Any = None
                if json_body is not None:
                    body = json.dumps(json_body).encode()
                    headers["Content-Type"] = "application/json"
                elif content is not None:
                    body = content()
                response = self._client.request(
                    method,
                    path,
                    params=query,
                    content=body,
                    headers=headers,
                    timeout=httpx.USE_CLIENT_DEFAULT if timeout is None else timeout,
                )
            except httpx.TimeoutException as error:
                raise Unavailable(0, "timeout", f"no answer in time ({type(error).__name__})", method, path) from None
            except httpx.TransportError as error:
                if method == "GET" and attempt <= self.retries:
                    time.sleep(min(self.max_retry_wait, 0.5 * attempt))
                    continue
                raise Unavailable(0, "unreachable", f"{type(error).__name__}: {error}", method, path) from None
            if response.status_code == 503 and attempt <= self.retries:
                time.sleep(self._retry_after(response))
                continue
            if response.is_success:
                return response
            raise self._error(response, method, path)

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """The response's JSON (None for 204)."""
        response = self.request(method, path, **kwargs)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def stream_lines(self, path: str, params: Params | None = None) -> Iterator[bytes]:
        """A streamed GET's lines (exports), without holding the whole body."""
        with self._client.stream("GET", path, params=_query(params)) as response:
            if not response.is_success:
                response.read()
                raise self._error(response, "GET", path)
            for line in response.iter_lines():
                if line:
                    yield line.encode()

    def _retry_after(self, response: httpx.Response) -> float:
        try:
            wait = float(response.headers.get("Retry-After", "1"))
        except ValueError:
            wait = 1.0
        return max(0.0, min(self.max_retry_wait, wait))

    @staticmethod
    def _error(response: httpx.Response, method: str, path: str) -> ArbiterError:
        code, message = "http_error", response.reason_phrase or "request failed"
        details: dict[str, Any] = {}
        try:
            payload = response.json()
            if isinstance(payload, dict):
                error = payload.get("error")
                if isinstance(error, dict):
                    code = str(error.get("code", code))
                    message = str(error.get("message", message))
                details = {key: value for key, value in payload.items() if key != "error"}
        except ValueError:
            pass
        return error_for(response.status_code, code, message, method, path, details)


def _query(params: Params | None) -> dict[str, str]:
    """The query string's values, booleans as `true`/`false`; None leaves a key out."""
    return {key: _query_value(value) for key, value in (params or {}).items() if value is not None}


def _query_value(value: str | int | float | bool | None) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
