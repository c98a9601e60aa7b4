"""Every route this client calls, with the query parameters it may send. A test checks
the list against the server's OpenAPI document, and every request the test suite
makes against the list, so the client cannot drift from the server unnoticed."""

from __future__ import annotations

ROUTES: list[tuple[str, str, frozenset[str]]] = [
    ("GET", "/api/me", frozenset()),
    ("GET", "/api/openapi.json", frozenset()),
    ("GET", "/api/export-formats", frozenset()),
    ("GET", "/api/projects", frozenset()),
    ("POST", "/api/projects", frozenset()),
    ("GET", "/api/projects/{id}", frozenset()),
    ("PATCH", "/api/projects/{id}", frozenset()),
    ("PUT", "/api/projects/{id}/members", frozenset()),
    ("POST", "/api/projects/{id}/pairs", frozenset({"pairs_per_prompt", "skip_invalid", "dry_run"})),
    ("POST", "/api/projects/{id}/annotations", frozenset({"skip_invalid", "dry_run"})),
    ("GET", "/api/projects/{id}/next", frozenset()),
    ("GET", "/api/projects/{id}/progress", frozenset()),
    (
        "GET",
        "/api/projects/{id}/pairs",
        frozenset(
            {
                "q",
                "state",
                "min_judgements",
                "max_judgements",
                "min_disagreement",
                "reported",
                "gold",
                "labelled",
                "raters",
                "sort",
                "after",
                "limit",
            }
        ),
    ),
    ("GET", "/api/projects/{id}/pairs/{pair}", frozenset()),
    ("GET", "/api/projects/{id}/raters/{username}/judgements", frozenset({"departures", "after", "limit"})),
    ("GET", "/api/projects/{id}/agreement", frozenset()),
    ("GET", "/api/projects/{id}/raters", frozenset()),
    ("POST", "/api/projects/{id}/raters/{username}/status", frozenset()),
    ("GET", "/api/projects/{id}/leaderboard", frozenset({"bootstrap", "seed", "style_control"})),
    ("GET", "/api/projects/{id}/audit", frozenset()),
    ("POST", "/api/projects/{id}/exports", frozenset()),
    ("GET", "/api/projects/{id}/exports/latest", frozenset()),
    ("GET", "/api/projects/{id}/exports/latest/files/{name}", frozenset()),
    (
        "GET",
        "/api/projects/{id}/export",
        frozenset({"format", "aggregate", "min_agreement", "include_flagged", "margin", "ranking_pairs", "min_gap", "rewrite_pairs"}),
    ),
    ("POST", "/api/assignments/{id}/annotation", frozenset()),
    ("POST", "/api/assignments/{id}/skip", frozenset()),
    ("POST", "/api/assignments/{id}/report", frozenset()),
    ("POST", "/api/dataset-audits", frozenset({"strict"})),
    ("GET", "/api/users", frozenset()),
    ("POST", "/api/invites", frozenset()),
    ("POST", "/api/invites/accept", frozenset()),
    ("POST", "/api/tokens", frozenset()),
]
