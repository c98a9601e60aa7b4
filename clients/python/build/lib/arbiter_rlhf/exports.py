"""Export jobs: start one, wait for it with progress, fetch its files, and read them
as a ``datasets.DatasetDict``."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._progress import Progress
from ._transport import Transport
from .errors import ArbiterError, ExportFailed

# The data files a job writes, by split.
_SPLITS = {"data.jsonl": "train", "data.train.jsonl": "train", "data.test.jsonl": "test", "data.csv": "train"}


@dataclass(frozen=True)
class ExportFiles:
    """An export on disk: the data files by split, the manifest (as written next to
    them) and the reward model's directory when one was trained."""

    directory: Path
    splits: dict[str, Path]
    manifest: dict[str, Any]
    reward_model: Path | None


def run_job(
    transport: Transport,
    project_id: int,
    options: dict[str, Any],
    *,
    progress: bool | None,
    poll_interval: float,
    timeout: float | None,
) -> dict[str, Any]:
    """Starts an export job and waits for it; returns its ``result``."""
    base = f"/api/projects/{project_id}/exports"
    started = transport.json("POST", base, json_body=options)["job"]
    deadline = None if timeout is None else time.monotonic() + timeout
    bar = Progress(progress, total=None, unit="epoch", description="export")
    try:
        while True:
            latest = transport.json("GET", base + "/latest")
            job = latest.get("job") or {}
            if job.get("started_at") != started.get("started_at"):
                # Another export of this project started after ours and replaced it.
                raise ArbiterError(409, "superseded", "another export of this project replaced this one", "GET", base)
            if job.get("epochs"):
                bar.total(int(job["epochs"]))
                bar.to(int(job.get("epoch") or 0))
            if job.get("state") == "done":
                result: dict[str, Any] = latest.get("result") or {}
                return result
            if job.get("state") == "failed":
                raise ExportFailed(0, "export_failed", str(job.get("error") or "the export failed"), "GET", base + "/latest")
            if deadline is not None and time.monotonic() > deadline:
                raise ArbiterError(0, "timeout", f"the export did not finish in {timeout} s (it goes on on the server)", "GET", base)
            time.sleep(poll_interval)
    finally:
        bar.close()


def download(transport: Transport, project_id: int, result: dict[str, Any], directory: Path) -> ExportFiles:
    """Fetches every file of the latest export into ``directory`` (the reward model's
    files into ``directory/model``)."""
    directory.mkdir(parents=True, exist_ok=True)
    splits: dict[str, Path] = {}
    reward: Path | None = None
    manifest: dict[str, Any] = {}
    for name in result.get("files", []):
        response = transport.request("GET", f"/api/projects/{project_id}/exports/latest/files/{name}")
        if name in _SPLITS:
            target = directory / name
            splits[_SPLITS[name]] = target
        elif name == "manifest.json":
            target = directory / name
            manifest = json.loads(response.content)
        else:
            reward = directory / "model"
            reward.mkdir(exist_ok=True)
            target = reward / name
        target.write_bytes(response.content)
    return ExportFiles(directory=directory, splits=splits, manifest=manifest, reward_model=reward)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open("rb") as file:
        return [json.loads(line) for line in file if line.strip()]


def to_dataset_dict(files: ExportFiles) -> Any:
    """The files as a ``datasets.DatasetDict`` (one split per file), every column kept
    (``label_source``, ``margin``, weights); the manifest is the ``manifest``
    attribute of the dict and, as JSON text, each split's ``info.description``."""
    try:
        import datasets
    except ImportError:
        raise ImportError("export() as a DatasetDict needs the datasets package: pip install 'arbiter-rlhf[datasets]'") from None
    parts = {}
    for split, path in files.splits.items():
        if path.suffix == ".csv":
            part = datasets.Dataset.from_csv(str(path))
        else:
            rows = read_jsonl(path)
            columns: dict[str, list[Any]] = {}
            for row in rows:
                for key in row:
                    columns.setdefault(key, [])
            for key in columns:
                columns[key] = [row.get(key) for row in rows]
            part = datasets.Dataset.from_dict(columns)
        part.info.description = json.dumps(files.manifest)
        parts[split] = part
    result = datasets.DatasetDict(parts)
    result.manifest = files.manifest
    return result
