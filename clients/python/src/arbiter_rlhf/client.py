"""The client: one server, one API token."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from ._transport import Transport
from .project import Project, _encode, _reader


class Arbiter:
    """A connection to an Arbiter server as the user an API token belongs to.

    ``url`` defaults to ``$ARBITER_URL`` (else ``http://127.0.0.1:8080``), ``token``
    to ``$ARBITER_TOKEN`` (``arbiter token create``, or the admin page). Requests
    time out after ``timeout`` seconds (long reports and uploads allow more); a 503
    is retried ``retries`` times after the server's ``Retry-After``. The token is
    never shown: not in ``repr``, not in any exception. An httpx ``transport``
    (tests, proxies) is the caller's: it is shared with ``as_user`` clients and
    closing a client leaves it open.

    >>> client = Arbiter("http://127.0.0.1:8080", token)
    >>> project = client.projects.create("helpfulness", overlap=3)
    """

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        timeout: float = 60.0,
        retries: int = 5,
        max_retry_wait: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        url = url or os.environ.get("ARBITER_URL") or "http://127.0.0.1:8080"
        token = token or os.environ.get("ARBITER_TOKEN")
        if not token:
            raise ValueError("no API token: pass token= or set ARBITER_TOKEN (arbiter token create USER makes one)")
        self._options = {"timeout": timeout, "retries": retries, "max_retry_wait": max_retry_wait, "transport": transport}
        self._transport = Transport(url, token, timeout=timeout, retries=retries, max_retry_wait=max_retry_wait, transport=transport)
        self.projects = Projects(self._transport)
        self.users = Users(self._transport)

    @property
    def url(self) -> str:
        return self._transport.url

    def __repr__(self) -> str:
        return f"Arbiter(url={self.url!r})"

    def __enter__(self) -> Arbiter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Closes the connections."""
        self._transport.close()

    def as_user(self, token: str) -> Arbiter:
        """The same server as another user (an annotator's token, say)."""
        return Arbiter(self.url, token, **self._options)  # type: ignore[arg-type]

    def me(self) -> dict[str, Any]:
        """The token's user: ``{"user":{"id","username","role"},…}``."""
        result: dict[str, Any] = self._transport.json("GET", "/api/me")
        return result

    def export_formats(self) -> list[dict[str, Any]]:
        """The formats ``project.export`` takes, with the kinds of project each serves."""
        return list(self._transport.json("GET", "/api/export-formats")["formats"])

    def openapi(self) -> dict[str, Any]:
        """The server's OpenAPI 3.1 description of itself."""
        result: dict[str, Any] = self._transport.json("GET", "/api/openapi.json")
        return result

    def audit_file(self, data: str | Path | Iterable[Mapping[str, Any] | str], *, strict: bool = False) -> dict[str, Any]:
        """Audits a preference dataset on the server, as ``arbiter audit --input``
        does: ``data`` is a JSONL file's path or rows (TRL, HH-RLHF or OpenAI
        preference lines). Lines that are no labelled pair are listed under
        ``unreadable`` and the rest is audited (``strict=True`` refuses the file at
        the first instead). Returns ``{"pairs":[{"line","suspicion","p_chosen",
        "reasons"}],"clusters":[…],"unreadable":[…],"summary":{…}}``, most
        suspicious first; ``line`` is 1-based."""
        import tempfile

        with tempfile.SpooledTemporaryFile(max_size=64 * 1024 * 1024) as spool:
            if isinstance(data, (str, Path)):
                with open(data, "rb") as file:
                    while chunk := file.read(1 << 20):
                        spool.write(chunk)
            else:
                _encode(iter(data), spool, offset=0, limit=None, committed=0)
            result: dict[str, Any] = self._transport.json(
                "POST",
                "/api/dataset-audits",
                params={"strict": strict or None},
                content=_reader(spool),
                content_type="application/x-ndjson",
                timeout=900,
            )
            return result


class Projects:
    """``client.projects``: create, find and list projects."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    def create(self, name: str, *, kind: str = "pairwise", **settings: Any) -> Project:
        """Creates a project (admins). ``kind``: ``"pairwise"``, ``"ranking"`` or
        ``"rating"``; ``settings`` as on the new-project form: ``overlap``,
        ``guidelines``, ``gold_rate``, ``allow_ties``, ``attributes`` and
        ``scale_min``/``scale_max`` (rating), ``min_overlap`` (adaptive), …"""
        answer = self._transport.json("POST", "/api/projects", json_body={"name": name, "kind": kind, **settings})
        return Project(self._transport, answer["project"])

    def list(self) -> list[Project]:
        """The projects this user may see."""
        return [Project(self._transport, data) for data in self._transport.json("GET", "/api/projects")["projects"]]

    def get(self, project: str | int) -> Project:
        """A project by id or by name (:class:`~arbiter_rlhf.errors.NotFound` when there is none)."""
        if isinstance(project, int):
            return Project(self._transport, self._transport.json("GET", f"/api/projects/{project}")["project"])
        for found in self.list():
            if found.name == project:
                return found.refresh()
        from .errors import NotFound

        raise NotFound(404, "not_found", f"no project named {project!r} that this user may see", "GET", "/api/projects")


@dataclass(frozen=True)
class NewUser:
    """An account made from code, with its API token (shown once; never in repr)."""

    username: str
    role: str
    token: str = field(repr=False)


class Users:
    """``client.users``: people and their tokens (admins)."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    def list(self) -> list[dict[str, Any]]:
        """People: role, status, judgements, last seen."""
        return list(self._transport.json("GET", "/api/users")["users"])

    def create(self, username: str, *, role: str = "annotator", password: str | None = None) -> NewUser:
        """Makes an account (through a one-time invite, as the admin page does) and an
        API token for it — an annotator for code that judges (a model as judge, a
        simulated crowd). Without ``password`` a random one is set: the account
        signs in with its token only."""
        invite = self._transport.json("POST", "/api/invites", json_body={"role": role})["invite"]
        self._transport.json(
            "POST",
            "/api/invites/accept",
            json_body={"token": invite["token"], "username": username, "password": password or secrets.token_urlsafe(24)},
        )
        return NewUser(username=username, role=role, token=self.create_token(username, label="arbiter-rlhf"))

    def create_token(self, username: str, *, label: str = "") -> str:
        """A new API token for a user (shown once)."""
        answer = self._transport.json("POST", "/api/tokens", json_body={"username": username, "label": label})
        return str(answer["token"]["token"])
