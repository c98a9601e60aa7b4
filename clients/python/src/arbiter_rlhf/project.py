"""A project: pairs in, judgements, quality reports and datasets out."""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sized
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

from . import exports
from ._progress import Progress
from ._transport import Transport
from .errors import ArbiterError, ImportRefused
from .records import ImportReport, Leaderboard, RaterReport, Rater

# The server's largest upload; a larger one needs batch=.
MAX_UPLOAD_BYTES = 512 * 1024 * 1024
_CHUNK = 1 << 20
_LINE = re.compile(r"^line (\d+): ")


class Project:
    """A project on the server. Get one from ``client.projects``; ``settings`` is the
    server's JSON for it (overlap, kind, guidelines, …) as of the last fetch."""

    def __init__(self, transport: Transport, data: dict[str, Any]) -> None:
        self._transport = transport
        self._set(data)

    def _set(self, data: dict[str, Any]) -> None:
        self.id: int = int(data["id"])
        self.name: str = str(data["name"])
        self.kind: str = str(data.get("kind", "pairwise"))
        self.settings: dict[str, Any] = data

    def __repr__(self) -> str:
        return f"Project(id={self.id}, name={self.name!r}, kind={self.kind!r})"

    @property
    def _path(self) -> str:
        return f"/api/projects/{self.id}"

    # MARK: settings

    def refresh(self) -> Project:
        """Fetches the settings again."""
        self._set(self._transport.json("GET", self._path)["project"])
        return self

    def update(self, **settings: Any) -> Project:
        """Changes settings (``name=``, ``overlap=``, ``guidelines=``, …); unknown ones
        are refused by the server."""
        self._set(self._transport.json("PATCH", self._path, json_body=settings)["project"])
        return self

    def set_members(self, usernames: Iterable[str]) -> list[str]:
        """Which annotators the project is for (empty: every annotator)."""
        answer = self._transport.json("PUT", self._path + "/members", json_body={"usernames": list(usernames)})
        return [str(name) for name in answer.get("members", [])]

    # MARK: pairs in

    def add_pairs(
        self,
        rows: Iterable[Mapping[str, Any] | str],
        *,
        batch: int | None = None,
        pairs_per_prompt: int | None = None,
        skip_invalid: bool = False,
        dry_run: bool = False,
        progress: bool | None = None,
    ) -> ImportReport:
        """Uploads pairs: dicts in any line shape the server reads (TRL
        ``prompt``/``chosen``/``rejected`` — imported with their label —, HH-RLHF
        transcripts, OpenAI preference lines, ``prompt`` + ``response_a``/``response_b``,
        multi-response ``responses`` for ranking and rating), or already-encoded JSON
        lines, or a ``datasets.Dataset``.

        Without ``batch`` the rows are one upload, refused whole if a row is bad:
        :class:`ImportRefused` names the rows (0-based) and nothing is written. With
        ``batch=N`` every N rows are an upload of their own, committed as they go; a
        refused batch raises with ``committed_rows`` saying how many rows earlier
        batches stored. ``skip_invalid`` imports the good rows and lists the bad ones
        in the report; ``dry_run`` checks only.
        """
        if batch is not None and batch < 1:
            raise ValueError("batch: at least 1 row")
        params = {"pairs_per_prompt": pairs_per_prompt, "skip_invalid": skip_invalid or None, "dry_run": dry_run or None}
        return self._upload(self._path + "/pairs", rows, batch=batch, params=params, progress=progress)

    def add_annotations(
        self, rows: Iterable[Mapping[str, Any] | str], *, skip_invalid: bool = False, dry_run: bool = False, progress: bool | None = None
    ) -> ImportReport:
        """Uploads judgements made elsewhere (``pair_id``, ``annotator``, ``choice``,
        …; see the server's docs/TASKS.md), refused whole on a bad row."""
        params = {"skip_invalid": skip_invalid or None, "dry_run": dry_run or None}
        return self._upload(self._path + "/annotations", rows, batch=None, params=params, progress=progress)

    def _upload(
        self,
        path: str,
        rows: Iterable[Mapping[str, Any] | str],
        *,
        batch: int | None,
        params: dict[str, Any],
        progress: bool | None,
    ) -> ImportReport:
        total: ImportReport | None = None
        committed = 0
        offset = 0
        source = _rows_of(rows)
        total_rows = len(rows) if isinstance(rows, Sized) else None  # a list or a datasets.Dataset
        bar = Progress(progress, total=total_rows, unit="row", description="upload")
        try:
            while True:
                with tempfile.SpooledTemporaryFile(max_size=64 * 1024 * 1024) as spool:
                    count = _encode(source, spool, offset=offset, limit=batch, committed=committed)
                    if count == 0:
                        # Nothing (more) to send: an empty upload is not asked for.
                        total = total or ImportReport(0, 0, 0, 0, [], not dry_run_of(params), uploads=0)
                        break
                    size = spool.tell()
                    if size > MAX_UPLOAD_BYTES:
                        raise ValueError(
                            f"rows {offset}–{offset + count - 1} are {size} bytes, over the server's "
                            f"{MAX_UPLOAD_BYTES} per upload: pass batch= (rows per upload)"
                        )
                    try:
                        answer = self._transport.json(
                            "POST", path, params=params, content=_reader(spool), content_type="application/x-ndjson", timeout=600
                        )
                    except ImportRefused:
                        raise
                    except Exception as error:
                        refused = _refusal(error, offset=offset, committed=committed, path=path)
                        if refused is None:
                            raise
                        raise refused from None
                    report = ImportReport.from_json(answer)
                    total = report if total is None else total.plus(report)
                    if report.committed:
                        committed += count
                    offset += count
                    bar.add(count)
                    if batch is None or count < batch:
                        break
        finally:
            bar.close()
        assert total is not None
        return total

    # MARK: annotating from code

    def next(self) -> Assignment | None:
        """Leases the next pair (or task) to judge as this client's user; None when
        nothing is left for them."""
        answer = self._transport.json("GET", self._path + "/next")
        if answer is None:
            return None
        return Assignment(self._transport, answer["assignment"])

    def progress(self) -> dict[str, Any]:
        """This client's user's progress: ``done_today``, ``done_total``, ``left``, ``in_progress``."""
        answer = self._transport.json("GET", self._path + "/progress")
        return dict(answer.get("progress", answer))

    # MARK: reading pairs

    def pairs(self, *, page_size: int = 200, **filters: str | int | float | bool) -> Iterator[dict[str, Any]]:
        """Every pair matching the item browser's filters (``q``, ``state``,
        ``min_disagreement``, ``gold``, ``sort``, …), page after page."""
        params: dict[str, Any] = dict(filters, limit=page_size)
        while True:
            page = self._transport.json("GET", self._path + "/pairs", params=params)
            yield from page.get("pairs", [])
            after = page.get("next")
            if not after:
                return
            params["after"] = after

    def pair(self, pair_id: str) -> dict[str, Any]:
        """One pair with every judgement, its reports and final label."""
        result: dict[str, Any] = self._transport.json("GET", self._path + "/pairs/" + _segment(pair_id))
        return result

    def rater_judgements(self, username: str, *, departures: bool = False, page_size: int = 500) -> Iterator[dict[str, Any]]:
        """One rater's judgements with the others' votes, page after page."""
        params: dict[str, Any] = {"limit": page_size, "departures": departures or None}
        while True:
            page = self._transport.json("GET", self._path + "/raters/" + _segment(username) + "/judgements", params=params)
            yield from page.get("judgements", [])
            after = page.get("next_after")
            if after is None:
                return
            params["after"] = after

    # MARK: quality

    def agreement(self) -> dict[str, Any]:
        """Krippendorff's alpha (with 95% intervals), Fleiss' and Cohen's kappa, contested pairs."""
        result: dict[str, Any] = self._transport.json("GET", self._path + "/agreement", timeout=600)
        return result

    def raters(self) -> RaterReport:
        """Every rater's finding, evidence and signals (``.to_pandas()`` for a table)."""
        answer = self._transport.json("GET", self._path + "/raters", timeout=600)
        return RaterReport(raters=[Rater.from_json(rater) for rater in answer.get("raters", [])], model=answer.get("model") or {})

    def set_rater_status(self, username: str, status: str, comment: str | None = None) -> dict[str, Any]:
        """Quarantine a rater (``"quarantined"``), clear a flag or quarantine
        (``"cleared"``, saying why in ``comment``) or leave a note (``"ok"`` with
        ``comment``); audited on the server."""
        body: dict[str, Any] = {"status": status}
        if comment is not None:
            body["comment"] = comment
        result: dict[str, Any] = self._transport.json("POST", self._path + "/raters/" + _segment(username) + "/status", json_body=body)
        return result

    def leaderboard(self, *, bootstrap: int | None = None, seed: int | None = None, style_control: bool | None = None) -> Leaderboard:
        """Models ranked by a Bradley–Terry fit over the project's votes."""
        params = {"bootstrap": bootstrap, "seed": seed, "style_control": style_control}
        return Leaderboard.from_json(self._transport.json("GET", self._path + "/leaderboard", params=params, timeout=600))

    def audit(self) -> dict[str, Any]:
        """The project's imported labels ranked by how poisoned they look."""
        result: dict[str, Any] = self._transport.json("GET", self._path + "/audit", timeout=600)
        return result

    # MARK: datasets out

    def export(
        self,
        format: str = "trl",
        *,
        path: str | Path | None = None,
        progress: bool | None = None,
        poll_interval: float = 0.5,
        timeout: float | None = None,
        **options: Any,
    ) -> Any:
        """Runs an export job and returns it as a ``datasets.DatasetDict`` (``train``,
        and ``test`` when ``test_fraction`` is given), every column kept; the manifest
        is its ``manifest`` attribute and each split's ``info.description`` (JSON).

        ``options`` are the server's export options: ``test_fraction``, ``seed``,
        ``aggregate`` (``"weighted"``/``"majority"``), ``min_agreement``,
        ``include_flagged``, ``margin``, ``reward_model`` (default False here: True
        trains the server's reward model too), ``epochs``, ….  The files are kept in
        ``path`` when given (else a temporary directory, removed).
        """
        if path is not None:
            files = self.export_files(path, format, progress=progress, poll_interval=poll_interval, timeout=timeout, **options)
            return exports.to_dataset_dict(files)
        with tempfile.TemporaryDirectory(prefix="arbiter-export-") as directory:
            files = self.export_files(directory, format, progress=progress, poll_interval=poll_interval, timeout=timeout, **options)
            return exports.to_dataset_dict(files)

    def export_files(
        self,
        path: str | Path,
        format: str = "trl",
        *,
        progress: bool | None = None,
        poll_interval: float = 0.5,
        timeout: float | None = None,
        **options: Any,
    ) -> exports.ExportFiles:
        """Runs an export job and writes its files into the directory ``path``: the
        data (``data.jsonl``, or ``data.train.jsonl`` and ``data.test.jsonl``),
        ``manifest.json``, and ``model/`` when a reward model was trained."""
        body = {"format": format, "reward_model": False, **options}
        result = exports.run_job(
            self._transport, self.id, body, progress=progress, poll_interval=poll_interval, timeout=timeout
        )
        return exports.download(self._transport, self.id, result, Path(path))

    def stream_export(self, format: str = "trl", **options: str | int | float | bool) -> Iterator[dict[str, Any]]:
        """The export's rows as the server streams them (no job, no files; JSONL formats)."""
        for line in self._transport.stream_lines(self._path + "/export", params=dict(options, format=format)):
            yield json.loads(line)


@dataclass
class Assignment:
    """A leased pair or task. ``left``/``right`` for pairs, ``responses`` for ranking
    and rating tasks, as shown to a person."""

    _transport: Transport = field(repr=False)
    data: dict[str, Any] = field(repr=False)
    id: int = field(init=False)
    prompt: str = field(init=False)
    left: str | None = field(init=False)
    right: str | None = field(init=False)
    responses: list[Any] | None = field(init=False)
    expires_at: str | None = field(init=False)

    def __post_init__(self) -> None:
        self.id = int(self.data["id"])
        self.prompt = str(self.data.get("prompt", ""))
        self.left = self.data.get("left")
        self.right = self.data.get("right")
        self.responses = self.data.get("responses")
        self.expires_at = self.data.get("expires_at")

    def submit(
        self,
        choice: str | None = None,
        *,
        strength: int | None = None,
        aspects: Mapping[str, str] | None = None,
        ranking: list[Any] | None = None,
        ratings: list[Mapping[str, float]] | None = None,
        rationale: str | None = None,
        rewrite: Mapping[str, Any] | None = None,
        duration_ms: int | None = None,
    ) -> dict[str, Any]:
        """Judges it: ``choice`` ``"left"``/``"right"``/``"tie"``/``"both_bad"`` (pairs),
        ``ranking`` (positions, best first) or ``ratings`` (one ``{attribute: score}``
        per position). Sending the same judgement again is harmless (idempotent)."""
        body: dict[str, Any] = {}
        for key, value in (
            ("choice", choice),
            ("strength", strength),
            ("aspects", dict(aspects) if aspects is not None else None),
            ("ranking", ranking),
            ("ratings", [dict(rating) for rating in ratings] if ratings is not None else None),
            ("rationale", rationale),
            ("rewrite", dict(rewrite) if rewrite is not None else None),
            ("duration_ms", duration_ms),
        ):
            if value is not None:
                body[key] = value
        answer: dict[str, Any] = self._transport.json("POST", f"/api/assignments/{self.id}/annotation", json_body=body)
        return dict(answer["annotation"])

    def skip(self) -> None:
        """Gives the pair back (someone else gets it)."""
        self._transport.json("POST", f"/api/assignments/{self.id}/skip", json_body={})

    def report(self, reason: str) -> None:
        """Reports a problem with the pair to the admins."""
        self._transport.json("POST", f"/api/assignments/{self.id}/report", json_body={"reason": reason})


def _rows_of(rows: Iterable[Mapping[str, Any] | str]) -> Iterator[Mapping[str, Any] | str]:
    """The rows one by one; a ``datasets.Dataset`` is read a thousand rows at a time
    (column batches from Arrow: 3.5× faster than iterating it row by row)."""
    if hasattr(rows, "features") and hasattr(rows, "iter"):
        for batch in rows.iter(batch_size=1000):
            columns = list(batch)
            for index in range(len(batch[columns[0]]) if columns else 0):
                yield {column: batch[column][index] for column in columns}
        return
    yield from rows


def _encode(source: Iterator[Mapping[str, Any] | str], out: IO[bytes], *, offset: int, limit: int | None, committed: int) -> int:
    """Writes up to ``limit`` rows as JSON lines; a row that is not a JSON object
    raises :class:`ImportRefused` before anything is sent."""
    count = 0
    while limit is None or count < limit:
        try:
            row = next(source)
        except StopIteration:
            break
        index = offset + count
        try:
            if isinstance(row, (str, bytes)):
                text = row.decode() if isinstance(row, bytes) else row
                text = text.strip()
                if not text.startswith("{") or "\n" in text:
                    raise ValueError("expected one JSON object per row")
                line = text
            elif isinstance(row, Mapping):
                line = json.dumps(dict(row), ensure_ascii=False, allow_nan=False)
            else:
                raise ValueError(f"expected a dict or a JSON line, got {type(row).__name__}")
        except (TypeError, ValueError) as error:
            message = f"row {index}: {error}"
            raise ImportRefused(
                f"import refused, nothing of this upload written: {message}",
                rows=[index],
                errors=[message],
                report={},
                committed_rows=committed,
            ) from None
        out.write(line.encode())
        out.write(b"\n")
        count += 1
    return count


def _reader(spool: IO[bytes]) -> Any:
    """A fresh iterator over the spooled upload per attempt."""

    def chunks() -> Iterator[bytes]:
        spool.seek(0)
        while True:
            chunk = spool.read(_CHUNK)
            if not chunk:
                return
            yield chunk

    return chunks


def _refusal(error: Exception, *, offset: int, committed: int, path: str) -> ImportRefused | None:
    """The server's 422 ``import_refused`` as :class:`ImportRefused`, lines mapped to rows."""
    if not isinstance(error, ArbiterError) or error.code != "import_refused":
        return None
    report = error.details.get("report") or {}
    errors = [str(entry) for entry in report.get("errors", [])]
    rows = []
    for entry in errors:
        match = _LINE.match(entry)
        if match:
            rows.append(offset + int(match.group(1)) - 1)
    described = [
        _LINE.sub(lambda match: f"row {offset + int(match.group(1)) - 1}: ", entry, count=1) for entry in errors
    ]
    first = f"; {described[0]}" if described else ""
    already = f" ({committed} rows of earlier batches were stored)" if committed else ""
    return ImportRefused(
        f"import refused, nothing of this upload written: {len(errors) or report.get('error_count', 0)} bad rows{first}{already}",
        rows=rows,
        errors=described,
        report=report,
        committed_rows=committed,
        method="POST",
        path=path,
    )


def dry_run_of(params: Mapping[str, Any]) -> bool:
    return bool(params.get("dry_run"))


def _segment(text: str) -> str:
    return quote(text, safe="")
