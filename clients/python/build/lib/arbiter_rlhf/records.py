"""Typed records of what the server answers. Each keeps the whole answer in ``raw``
(fields the server adds later are there before this client names them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Finding = Literal["unreliable", "malicious"]


@dataclass(frozen=True)
class ImportReport:
    """What an upload did: lines read, pairs imported, duplicates (already in the
    project, skipped), bad lines (with ``skip_invalid``) and whether it committed
    (false for ``dry_run``)."""

    lines: int
    imported: int
    duplicates: int
    error_count: int
    errors: list[str]
    committed: bool
    uploads: int = 1

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ImportReport:
        return cls(
            lines=int(data["lines"]),
            imported=int(data["imported"]),
            duplicates=int(data["duplicates"]),
            error_count=int(data["error_count"]),
            errors=[str(error) for error in data.get("errors", [])],
            committed=bool(data["committed"]),
        )

    def plus(self, other: ImportReport) -> ImportReport:
        """Two batches' reports as one."""
        return ImportReport(
            lines=self.lines + other.lines,
            imported=self.imported + other.imported,
            duplicates=self.duplicates + other.duplicates,
            error_count=self.error_count + other.error_count,
            errors=self.errors + other.errors,
            committed=self.committed and other.committed,
            uploads=self.uploads + other.uploads,
        )


@dataclass(frozen=True)
class Rater:
    """One rater of a project, as the review page shows them.

    ``finding`` is ``"unreliable"`` (right far less often than this crowd's honest
    raters), ``"malicious"`` (chance, inverting, position/speed scripts, collusion,
    targeted poisoning) or None; ``status`` is ``ok``, ``flagged`` or
    ``quarantined``; ``reasons`` are the evidence in words."""

    annotator: str
    annotations: int
    status: str
    finding: Finding | None
    evidence: str | None
    honest_probability: float | None
    suspicion: float | None
    reasons: list[str]
    signals: dict[str, Any]
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Rater:
        finding = data.get("finding")
        return cls(
            annotator=str(data["annotator"]),
            annotations=int(data.get("annotations", 0)),
            status=str(data.get("status", "ok")),
            finding=finding if finding in ("unreliable", "malicious") else None,
            evidence=data.get("evidence"),
            honest_probability=data.get("honest_probability"),
            suspicion=data.get("suspicion"),
            reasons=[f"{reason.get('signal')}: {reason.get('detail')}" for reason in data.get("reasons", [])],
            signals=dict(data.get("signals", {})),
            raw=data,
        )


@dataclass(frozen=True)
class RaterReport:
    """Every rater and the fitted crowd (``model``: honest share, the decision
    threshold, expected false flags)."""

    raters: list[Rater]
    model: dict[str, Any]

    @property
    def flagged(self) -> list[Rater]:
        """Raters with a finding."""
        return [rater for rater in self.raters if rater.finding is not None]

    def to_pandas(self) -> Any:
        """One row per rater (needs pandas)."""
        import pandas

        return pandas.DataFrame(
            [
                {
                    "annotator": rater.annotator,
                    "annotations": rater.annotations,
                    "status": rater.status,
                    "finding": rater.finding,
                    "evidence": rater.evidence,
                    "honest_probability": rater.honest_probability,
                    "suspicion": rater.suspicion,
                    "reasons": "; ".join(rater.reasons),
                }
                for rater in self.raters
            ]
        )


@dataclass(frozen=True)
class LeaderboardEntry:
    model: str
    score: float
    ci95: tuple[float, float] | None
    votes: int
    wins: int
    losses: int
    ties: int


@dataclass(frozen=True)
class Leaderboard:
    """Models ranked by a Bradley–Terry fit over the project's votes (Elo scale)."""

    models: list[LeaderboardEntry]
    battles: int
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Leaderboard:
        entries = []
        for entry in data.get("models", []):
            interval = entry.get("ci95")
            entries.append(
                LeaderboardEntry(
                    model=str(entry["model"]),
                    score=float(entry["score"]),
                    ci95=(float(interval[0]), float(interval[1])) if interval else None,
                    votes=int(entry.get("votes", 0)),
                    wins=int(entry.get("wins", 0)),
                    losses=int(entry.get("losses", 0)),
                    ties=int(entry.get("ties", 0)),
                )
            )
        return cls(models=entries, battles=int(data.get("battles", 0)), raw=data)

    def to_pandas(self) -> Any:
        """One row per model (needs pandas)."""
        import pandas

        return pandas.DataFrame([entry.__dict__ for entry in self.models])
