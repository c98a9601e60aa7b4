"""The client against a real server: ``ARBITER_TEST_URL`` and an admin's
``ARBITER_TEST_TOKEN`` (the Swift suite's ``PythonClientTests`` starts ``arbiter
serve --port 0 --demo`` and runs this file). Run by hand:

    arbiter serve --demo --port 8080 &     # prints the admin token
    ARBITER_TEST_URL=http://127.0.0.1:8080 ARBITER_TEST_TOKEN=arb_… \\
        PYTHONPATH=clients/python/src python -m unittest discover -s clients/python/tests -v
"""

from __future__ import annotations

import json
import os
import random
import re
import tempfile
import unittest
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx

from arbiter_rlhf import (
    Arbiter,
    AuthenticationError,
    ImportRefused,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    Project,
    Unavailable,
)
from arbiter_rlhf._routes import ROUTES

URL = os.environ.get("ARBITER_TEST_URL")
TOKEN = os.environ.get("ARBITER_TEST_TOKEN")
PAIRS = 1000


class Recording(httpx.BaseTransport):
    """Every request the tests make, as (method, path, query keys)."""

    seen: list[tuple[str, str, frozenset[str]]] = []

    def __init__(self) -> None:
        self._inner = httpx.HTTPTransport()

    def close(self) -> None:
        self._inner.close()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        keys = frozenset(key for key, _ in parse_qsl(request.url.query.decode(), keep_blank_values=True))
        Recording.seen.append((request.method, request.url.path, keys))
        return self._inner.handle_request(request)


_open: list[Arbiter] = []
_transports: list[Recording] = []


def client(token: str | None = None) -> Arbiter:
    """A client that records its requests; its transport (ours, not the client's) closed when the tests end."""
    recording = Recording()
    _transports.append(recording)
    session = Arbiter(URL, token or TOKEN, transport=recording, timeout=120)
    _open.append(session)
    return session


def tearDownModule() -> None:
    for session in _open:
        session.close()
    for recording in _transports:
        recording.close()


def pair_rows(count: int, tag: str) -> list[dict[str, Any]]:
    """Pairs whose better response says so (``good``), so a careful rater is right."""
    return [
        {
            "id": f"{tag}-{index}",
            "prompt": f"{tag}: how should one answer question {index}?",
            "response_a": f"A good, careful answer to question {index}." if index % 2 == 0 else f"No idea about {index}.",
            "response_b": f"No idea about {index}." if index % 2 == 0 else f"A good, careful answer to question {index}.",
            "model_a": "model-big" if index % 2 == 0 else "model-small",
            "model_b": "model-small" if index % 2 == 0 else "model-big",
        }
        for index in range(count)
    ]


@unittest.skipUnless(URL and TOKEN, "set ARBITER_TEST_URL and ARBITER_TEST_TOKEN (an admin's) to run against a server")
class RoundTrip(unittest.TestCase):
    """Create → 1,000 pairs from a datasets.Dataset → three annotators judge through
    the client → TRL export as a DatasetDict, from the job and from its files."""

    admin: Arbiter
    project: Project

    @classmethod
    def setUpClass(cls) -> None:
        import datasets

        cls.admin = client()
        cls.project = cls.admin.projects.create("python round trip", overlap=3, gold_rate=0, repeat_rate=0)
        dataset = datasets.Dataset.from_list(pair_rows(PAIRS, "rt"))
        cls.report = cls.project.add_pairs(dataset, progress=False)
        cls.annotators = [cls.admin.users.create(f"py-rater-{index}") for index in range(3)]
        accuracy = [1.0, 0.95, 0.9]
        randomness = random.Random(7)
        cls.judged = 0
        for annotator, right in zip(cls.annotators, accuracy):
            with client(annotator.token) as session:
                project = session.projects.get(cls.project.id)
                while (assignment := project.next()) is not None:
                    good = "left" if "good" in (assignment.left or "") else "right"
                    bad = "right" if good == "left" else "left"
                    assignment.submit(good if randomness.random() < right else bad, duration_ms=4000)
                    cls.judged += 1

    def test_import_report(self) -> None:
        self.assertEqual(self.report.lines, PAIRS)
        self.assertEqual(self.report.imported, PAIRS)
        self.assertTrue(self.report.committed)
        again = self.project.add_pairs(pair_rows(3, "rt"), progress=False)
        self.assertEqual((again.imported, again.duplicates), (0, 3), "the same pairs again are duplicates")

    def test_every_pair_judged_three_times(self) -> None:
        self.assertEqual(self.judged, 3 * PAIRS)
        states = [pair["judgements"] for pair in self.project.pairs(page_size=200)]
        self.assertEqual(len(states), PAIRS, "pagination walks every pair once")
        self.assertTrue(all(count == 3 for count in states))

    def test_export_as_dataset_dict(self) -> None:
        import datasets

        exported = self.project.export("trl", test_fraction=0.1, seed=3, margin=True, progress=False)
        self.assertIsInstance(exported, datasets.DatasetDict)
        self.assertEqual(set(exported.keys()), {"train", "test"})
        rows = exported["train"].num_rows + exported["test"].num_rows
        self.assertEqual(rows, PAIRS)
        self.assertGreater(exported["test"].num_rows, 0)
        for column in ("prompt", "chosen", "rejected", "label_source", "margin"):
            self.assertIn(column, exported["train"].column_names)
        manifest = exported.manifest
        self.assertEqual(manifest["counts"]["pairs_exported"], PAIRS)
        self.assertEqual(manifest["filters"]["test_fraction"], 0.1)
        self.assertEqual(json.loads(exported["test"].info.description), manifest)
        train = exported["train"]
        right = sum("good" in chosen for chosen in train["chosen"])
        self.assertGreater(right / train.num_rows, 0.97, "three raters, two of them careful: the majority is right")
        self.assertEqual(set(train["label_source"]), {"crowd"})
        # The same rows as the streamed export (no job).
        streamed = {(row["prompt"], row["chosen"]) for row in self.project.stream_export("trl")}
        both = {(row["prompt"], row["chosen"]) for split in exported.values() for row in split}
        self.assertEqual(streamed, both)

    def test_export_files_load_in_datasets(self) -> None:
        import datasets

        with tempfile.TemporaryDirectory() as directory:
            files = self.project.export_files(directory, "trl", test_fraction=0.2, progress=False)
            self.assertEqual(set(files.splits), {"train", "test"})
            self.assertTrue((Path(directory) / "manifest.json").exists())
            self.assertEqual(
                [entry["path"] for entry in files.manifest["files"]],
                ["data.train.jsonl", "data.test.jsonl"],
                "the manifest names the files as they are served",
            )
            loaded = datasets.load_dataset(
                "json",
                data_files={split: str(path) for split, path in files.splits.items()},
                cache_dir=str(Path(directory) / "cache"),
            )
            self.assertEqual(loaded["train"].num_rows + loaded["test"].num_rows, PAIRS)
            lines = sum(entry["lines"] for entry in files.manifest["files"])
            self.assertEqual(lines, PAIRS)

    def test_quality_reports(self) -> None:
        raters = self.project.raters()
        names = {rater.annotator for rater in raters.raters}
        self.assertEqual(names, {annotator.username for annotator in self.annotators})
        self.assertEqual(raters.flagged, [], "three honest raters, none flagged")
        frame = raters.to_pandas()
        self.assertEqual(len(frame), 3)
        agreement = self.project.agreement()
        self.assertGreater(agreement["krippendorff_alpha"]["nominal"], 0.7)
        board = self.project.leaderboard(bootstrap=50, seed=1)
        self.assertEqual([entry.model for entry in board.models], ["model-big", "model-small"])
        self.assertGreater(board.models[0].wins, board.models[0].losses)
        judgements = list(self.project.rater_judgements("py-rater-2", page_size=100))
        self.assertEqual(len(judgements), PAIRS, "keyset pages walk all of them")

    def test_annotators_cannot_export(self) -> None:
        with client(self.annotators[0].token) as session:
            project = session.projects.get(self.project.id)
            with self.assertRaises(PermissionDenied) as caught:
                project.export("trl", progress=False)
            self.assertEqual(caught.exception.status, 403)
            self.assertIsNone(project.next(), "nothing left for them")


@unittest.skipUnless(URL and TOKEN, "set ARBITER_TEST_URL and ARBITER_TEST_TOKEN")
class RankingTasks(unittest.TestCase):
    """Multi-response tasks go in as rows with ``responses`` and come back as pairs."""

    def test_rank_from_code_and_export_pairs(self) -> None:
        admin = client()
        project = admin.projects.create("python ranking", kind="ranking", overlap=1, gold_rate=0, repeat_rate=0)
        rows = [
            {"id": f"task-{index}", "prompt": f"Order these answers to question {index}", "responses": ["best", "middle", "worst"]}
            for index in range(4)
        ]
        self.assertEqual(project.add_pairs(rows, progress=False).imported, 4)
        annotator = admin.users.create("py-ranker")
        with client(annotator.token) as session:
            mine = session.projects.get(project.id)
            while (task := mine.next()) is not None:
                self.assertIsNotNone(task.responses)
                self.assertIsNone(task.left)
                shown = list(task.responses or [])
                order = sorted(range(len(shown)), key=lambda position: ["best", "middle", "worst"].index(shown[position]))
                self.assertEqual(task.submit(ranking=order)["ranking"], order, "the annotation comes back as sent")
        exported = project.export("trl", progress=False)
        self.assertEqual(exported["train"].num_rows, 4 * 3, "every implied pair of each ranking")
        order = {"best": 0, "middle": 1, "worst": 2}
        self.assertTrue(all(order[c] < order[r] for c, r in zip(exported["train"]["chosen"], exported["train"]["rejected"])))


@unittest.skipUnless(URL and TOKEN, "set ARBITER_TEST_URL and ARBITER_TEST_TOKEN")
class EveryOtherCall(unittest.TestCase):
    """Settings, members, progress, a pair's detail, a rater's status, judgements
    imported from elsewhere, skip and report — each call's answer read as the
    server writes it."""

    def test_the_rest_of_a_projects_calls(self) -> None:
        admin = client()
        project = admin.projects.create("python other calls", overlap=2, gold_rate=0, repeat_rate=0)
        self.assertEqual(project.update(guidelines="Pick the careful answer.", overlap=3).settings["overlap"], 3)
        self.assertEqual(project.refresh().settings["guidelines"], "Pick the careful answer.")
        project.add_pairs(pair_rows(6, "other"), progress=False)
        worker = admin.users.create("py-other")
        self.assertEqual(project.set_members(["py-other"]), ["py-other"])
        imported = project.add_annotations(
            [{"pair": "other-0", "annotator": "py-other", "choice": "A"}, {"pair": "other-1", "annotator": "py-other", "choice": "B"}],
            progress=False,
        )
        self.assertEqual((imported.imported, imported.committed), (2, True))
        with client(worker.token) as session:
            mine = session.projects.get(project.id)
            first = mine.next()
            assert first is not None
            first.skip()
            second = mine.next()
            assert second is not None
            second.report("the answer is cut off")
            self.assertEqual(set(mine.progress()), {"done_today", "done_total", "left", "in_progress"})
        detail = project.pair("other-0")
        self.assertEqual([judgement["annotator"] for judgement in detail["judgements"]], ["py-other"])
        quarantined = project.set_rater_status("py-other", "quarantined", comment="testing the client")
        self.assertEqual(quarantined, {"annotator": "py-other", "status": "quarantined"})
        self.assertEqual({rater.annotator: rater.status for rater in project.raters().raters}["py-other"], "quarantined")
        self.assertEqual(project.set_rater_status("py-other", "cleared", comment="a test, not a finding")["status"], "cleared")
        self.assertEqual(project.set_members([]), [])


@unittest.skipUnless(URL and TOKEN, "set ARBITER_TEST_URL and ARBITER_TEST_TOKEN")
class Errors(unittest.TestCase):
    def test_a_bad_token_is_401_with_the_servers_message_and_never_shown(self) -> None:
        secret = "arb_this-token-does-not-exist-0123456789"
        recording = Recording()
        _transports.append(recording)
        session = Arbiter(URL, secret, transport=recording)
        _open.append(session)
        self.assertNotIn(secret, repr(session))
        with self.assertRaises(AuthenticationError) as caught:
            session.projects.list()
        error = caught.exception
        self.assertEqual((error.status, error.code), (401, "unauthenticated"))
        self.assertIn("Bearer", error.message)
        self.assertNotIn(secret, str(error))
        self.assertNotIn(secret, repr(error))

    def test_a_bad_row_raises_with_its_index_and_nothing_is_written(self) -> None:
        admin = client()
        project = admin.projects.create("python bad row")
        rows: list[Any] = pair_rows(5, "bad")
        rows[3] = {"prompt": "only a prompt"}
        with self.assertRaises(ImportRefused) as caught:
            project.add_pairs(rows, progress=False)
        self.assertEqual(caught.exception.rows, [3])
        self.assertIn("row 3", str(caught.exception))
        self.assertEqual(caught.exception.committed_rows, 0)
        self.assertEqual(list(project.pairs()), [], "nothing written")
        # A row that is not even a JSON object never leaves the machine.
        with self.assertRaises(ImportRefused) as local:
            project.add_pairs([pair_rows(1, "ok")[0], {"prompt": float("nan")}], progress=False)
        self.assertEqual(local.exception.rows, [1])
        self.assertEqual(list(project.pairs()), [])
        # With batches, earlier batches stay and the error says so.
        rows = pair_rows(6, "batch")
        rows[4] = {"response_a": "no prompt"}
        with self.assertRaises(ImportRefused) as batched:
            project.add_pairs(rows, batch=2, progress=False)
        self.assertEqual((batched.exception.rows, batched.exception.committed_rows), ([4], 4))
        self.assertEqual(len(list(project.pairs())), 4)
        skipped = project.add_pairs(rows, skip_invalid=True, progress=False)
        self.assertEqual((skipped.imported, skipped.duplicates, skipped.error_count), (1, 4, 1))

    def test_unknown_projects_raise_not_found(self) -> None:
        admin = client()
        with self.assertRaises(NotFound) as by_id:
            admin.projects.get(987654)
        self.assertEqual(by_id.exception.status, 404)
        with self.assertRaises(NotFound):
            admin.projects.get("no such project anywhere")

    def test_a_bad_setting_names_the_field(self) -> None:
        with self.assertRaises(InvalidRequest) as caught:
            client().projects.create("python bad setting", overlap=0)
        self.assertIn("overlap", caught.exception.message)


@unittest.skipUnless(URL and TOKEN, "set ARBITER_TEST_URL and ARBITER_TEST_TOKEN")
class DatasetAudit(unittest.TestCase):
    def rows(self) -> list[Any]:
        randomness = random.Random(11)
        rows: list[Any] = []
        for index in range(120):
            good, bad = f"a clear helpful answer number {index}", f"unhelpful reply {index}"
            rows.append({"prompt": f"question {index} about topic {randomness.randint(1, 9)}", "chosen": good, "rejected": bad})
        return rows

    def test_a_file_is_audited_and_odd_lines_reported(self) -> None:
        rows = self.rows()
        rows.insert(5, '{"prompt": "no responses"}')
        with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as file:
            for row in rows:
                file.write((row if isinstance(row, str) else json.dumps(row)) + "\n")
            file.write("not json at all\n")
        try:
            report = client().audit_file(file.name)
            self.assertEqual(report["summary"]["pairs"], 120)
            self.assertEqual([entry["line"] for entry in report["unreadable"]], [6, 122])
            self.assertEqual(len(report["pairs"]), 120)
            with self.assertRaises(InvalidRequest) as strict:
                client().audit_file(Path(file.name), strict=True)
            self.assertIn("line 6", strict.exception.message)
        finally:
            os.unlink(file.name)
        self.assertEqual(client().audit_file(self.rows())["summary"]["unreadable"], 0)

    def test_too_few_pairs_is_a_clear_error(self) -> None:
        with self.assertRaises(InvalidRequest) as caught:
            client().audit_file(self.rows()[:3])
        self.assertIn("at least", caught.exception.message)


class Retries(unittest.TestCase):
    """No server needed: a scripted transport."""

    def test_a_503_is_retried_after_retry_after_and_then_raises(self) -> None:
        calls: list[str] = []

        def answer(request: httpx.Request) -> httpx.Response:
            calls.append(request.url.path)
            if len(calls) < 3:
                return httpx.Response(503, headers={"Retry-After": "0"}, json={"error": {"code": "database_unavailable", "message": "later"}})
            return httpx.Response(200, json={"projects": []})

        session = Arbiter("http://arbiter.invalid", "arb_secret-token", transport=httpx.MockTransport(answer), retries=5)
        self.assertEqual(session.projects.list(), [])
        self.assertEqual(len(calls), 3)

        def always(request: httpx.Request) -> httpx.Response:
            return httpx.Response(503, headers={"Retry-After": "0"}, json={"error": {"code": "storage_full", "message": "disk full"}})

        session = Arbiter("http://arbiter.invalid", "arb_secret-token", transport=httpx.MockTransport(always), retries=2)
        with self.assertRaises(Unavailable) as caught:
            session.projects.list()
        self.assertEqual((caught.exception.code, caught.exception.message), ("storage_full", "disk full"))
        self.assertNotIn("arb_secret-token", str(caught.exception))

    def test_an_upload_sent_again_after_a_503_is_whole(self) -> None:
        bodies: list[bytes] = []

        def answer(request: httpx.Request) -> httpx.Response:
            bodies.append(request.read())
            if len(bodies) == 1:
                return httpx.Response(503, headers={"Retry-After": "0"}, json={"error": {"code": "busy", "message": "again"}})
            lines = request.content.count(b"\n")
            return httpx.Response(200, json={"lines": lines, "imported": lines, "duplicates": 0, "error_count": 0, "errors": [], "committed": True})

        session = Arbiter("http://arbiter.invalid", "arb_x", transport=httpx.MockTransport(answer))
        project = Project(session._transport, {"id": 1, "name": "p"})
        report = project.add_pairs(pair_rows(50, "retry"), progress=False)
        self.assertEqual(report.imported, 50)
        self.assertEqual(len(bodies), 2)
        self.assertEqual(bodies[0], bodies[1])

    def test_a_transport_passed_in_outlives_the_clients_sharing_it(self) -> None:
        class Shared(httpx.MockTransport):
            closed = False

            def close(self) -> None:
                Shared.closed = True

        shared = Shared(lambda request: httpx.Response(200, json={"projects": []}))
        parent = Arbiter("http://arbiter.invalid", "arb_parent", transport=shared)
        with parent.as_user("arb_child") as child:
            self.assertEqual(child.projects.list(), [])
        self.assertFalse(Shared.closed, "closing the annotator's client left the shared transport open")
        self.assertEqual(parent.projects.list(), [])
        parent.close()
        self.assertFalse(Shared.closed, "the caller's transport is the caller's to close")

    def test_no_token_is_refused_before_any_request(self) -> None:
        saved = os.environ.pop("ARBITER_TOKEN", None)
        try:
            with self.assertRaisesRegex(ValueError, "ARBITER_TOKEN"):
                Arbiter("http://arbiter.invalid")
        finally:
            if saved is not None:
                os.environ["ARBITER_TOKEN"] = saved


@unittest.skipUnless(URL and TOKEN, "set ARBITER_TEST_URL and ARBITER_TEST_TOKEN")
class ZZRoutes(unittest.TestCase):
    """Runs last (unittest orders classes by name): every route the client knows is in
    the server's OpenAPI document with the parameters it sends, and every request the
    tests above made is one of them."""

    def test_the_client_and_the_openapi_document_agree(self) -> None:
        document = client().openapi()
        for method, path, params in ROUTES:
            operations = document["paths"].get(path)
            self.assertIsNotNone(operations, f"{path}: not served")
            operation = operations.get(method.lower())
            self.assertIsNotNone(operation, f"{method} {path}: not served")
            documented = {parameter["name"] for parameter in operation.get("parameters", []) if parameter["in"] == "query"}
            self.assertLessEqual(params, documented, f"{method} {path}: undocumented query parameters")

    def test_every_request_made_is_a_known_route(self) -> None:
        patterns = [(method, re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$"), params) for method, path, params in ROUTES]
        self.assertGreater(len(Recording.seen), 100)
        for method, path, keys in Recording.seen:
            matches = [params for known, pattern, params in patterns if known == method and pattern.match(path)]
            self.assertTrue(matches, f"{method} {path} is not in _routes.ROUTES")
            self.assertTrue(any(keys <= params for params in matches), f"{method} {path}: {sorted(keys)} not all listed")


if __name__ == "__main__":
    unittest.main()
