#!/usr/bin/env python3
"""Humans where judges cannot settle (issue 39), through the live server: model
judges judge every pair first (simulated behind a fake OpenAI-compatible
endpoint), then paced annotators of a simulated crowd judge through `arbiter
serve` with adaptive overlap; the project counts judges (`--count-judges`), so a
pair where the judges and a person agree needs no second person. The export's
labels are scored against the truth, and people's judgements are counted.

    python3 live.py ARBITER ROOT FAMILY SEED PAIRS ANNOTATORS JUDGES -- PROJECT OPTIONS...

JUDGES is `none` or comma-separated accuracies, e.g. `0.75,0.85` or `0.55`.
A simulated judge is right with its accuracy on average, more often wrong on the
world's hard pairs (error up to 0.45 there, less on easy ones), and its errors are
correlated with the other judges': on 60% of pairs all judges draw from one
shared random number. It answers consistently in both orders (position bias is
the detector's business, tested elsewhere). Families: see ../adaptive/crowds.py.
Prints one JSON line: people's judgements, labelled pairs, label accuracy, each
judge's accuracy against the truth and whether the server counted it.
"""
import hashlib
import http.client
import http.server
import json
import os
import random
import secrets
import shutil
import sqlite3
import sys
import tempfile
import threading
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "adaptive"))
import campaign  # noqa: E402
import crowds  # noqa: E402

arbiter, root, family, seed, pairs, annotators = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
judges = [] if sys.argv[7] == "none" else [float(x) for x in sys.argv[7].split(",")]
options = sys.argv[sys.argv.index("--") + 1:]
pace = float(os.environ.get("PACE", "2.0"))
world = crowds.World(family, seed, pairs, annotators, pace)

# Each judge's answer per pair, drawn once: right or wrong.
draws = random.Random(seed + 7)
shared = [draws.random() for _ in range(pairs)]
hard_share = sum(world.hard(i) for i in range(pairs)) / pairs
verdicts = []
for accuracy in judges:
    error = 1 - accuracy
    hard_error = min(0.45, 2 * error)
    easy_error = max(0.0, (error - hard_share * hard_error) / (1 - hard_share))
    answers = []
    for i in range(pairs):
        u = shared[i] if draws.random() < 0.6 else draws.random()
        wrong = u < (hard_error if world.hard(i) else easy_error)
        answers.append(crowds.other(world.truth[i]) if wrong else world.truth[i])
    verdicts.append(answers)


class Endpoint(http.server.BaseHTTPRequestHandler):
    """POST /v1/chat/completions for models `sim-J`: reads which pair and which
    response is shown first from the judging prompt, answers with judge J's verdict."""
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        judge = int(body["model"].split("-")[1])
        content = body["messages"][-1]["content"]
        first = content.split("[Response 1]\n", 1)[1].split("\n", 1)[0]  # "p12 A: an answer"
        pair, side = int(first.split(" ")[0][1:]), first.split(" ")[1][0]
        answer = verdicts[judge][pair]
        text = f"Judged.\nVerdict: {'1' if answer == side else '2'}"
        events = [
            {"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]},
            {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
            {"choices": [], "usage": {"prompt_tokens": len(content) // 4, "completion_tokens": 5}},
        ]
        payload = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
        data = payload.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def api(port, token, method, path, body=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request(method, path, body=None if body is None else json.dumps(body),
                       headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    response = connection.getresponse()
    data = response.read()
    return response.status, json.loads(data) if data else None


work = tempfile.mkdtemp()
endpoint = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Endpoint)
threading.Thread(target=endpoint.serve_forever, daemon=True).start()
try:
    count_judges = ["--count-judges"] if judges else []
    db, tokens = campaign.set_up(arbiter, root, work, "live", options + count_judges,
                                 [{"id": f"p{i}", "prompt": f"prompt {i}", "response_a": f"p{i} A: an answer", "response_b": f"p{i} B: an answer"}
                                  for i in range(pairs)], annotators)
    admin = "arb_" + secrets.token_urlsafe(32)
    with sqlite3.connect(db) as connection:
        user = connection.execute("INSERT INTO users (username, role) VALUES ('bench-admin', 'admin')").lastrowid
        connection.execute("INSERT INTO api_tokens (user_id, token_hash, label) VALUES (?, ?, 'bench')", (user, hashlib.sha256(admin.encode()).digest()))
    endpoints = os.path.join(work, "endpoints.json")
    with open(endpoints, "w") as f:
        json.dump({"endpoints": [{"name": f"sim-{j}", "base_url": f"http://127.0.0.1:{endpoint.server_address[1]}/v1", "model": f"sim-{j}",
                                  "concurrency": 16} for j in range(len(judges))]}, f)
    port = 18900 + seed % 300
    generators = [random.Random(seed * 1000 + index) for index in range(annotators)]

    def decide(index, assignment):
        pair = int(assignment["left"].split(" ")[0][1:])
        left_is_a = assignment["left"].split(" ")[1] == "A:"
        r = generators[index]
        return campaign.shown_side(world.judge(world.raters[index], pair, r), left_is_a), world.raters[index]["pace"] * r.uniform(0.5, 1.5)

    # The two responses differ only in their letter: no word marks a side (with
    # "another" in every B, the detector's content signal rightly flags a judge that
    # sees every pair, and its verdicts leave the export).
    with campaign.serving(arbiter, root, db, port, extra=["--endpoints-file", endpoints] if judges else []):
        # The judges first: they are cheap and fast, people are neither.
        for j in range(len(judges)):
            status, answer = api(port, admin, "POST", "/api/projects/1/judges", {"name": f"judge{j}", "endpoint": f"sim-{j}"})
            assert status == 201, answer
            status, answer = api(port, admin, "POST", f"/api/projects/1/judges/judge{j}/run")
            assert status == 202, answer
        while judges:
            _, table = api(port, admin, "GET", "/api/projects/1/judges")
            if all(j["state"] != "running" for j in table["judges"]):
                assert all(j["state"] == "idle" and j["pending"] == 0 for j in table["judges"]), table
                break
            time.sleep(0.5)
        errors, elapsed = campaign.annotate(port, tokens, decide)
        judge_table = api(port, admin, "GET", "/api/projects/1/judges")[1]["judges"] if judges else []
    if errors:
        print(json.dumps({"errors": errors[:5]}))
        sys.exit(1)
    labelled, right = campaign.score(campaign.export_rows(arbiter, root, db, "live", work), world.truth)
    with open(os.path.join(work, "labels.jsonl.manifest.json")) as f:
        manifest = json.load(f)
    with sqlite3.connect(db) as connection:
        people = connection.execute("SELECT count(*) FROM annotations WHERE kind = 'normal'").fetchone()[0]
        unjudged = connection.execute("SELECT count(*) FROM pairs WHERE active_count = 0").fetchone()[0]
    print(json.dumps({
        "family": family, "seed": seed, "judges": sys.argv[7], "options": " ".join(options), "judgements": people, "labelled": labelled,
        "accuracy": right / pairs, "seconds": round(elapsed, 1),
        "judge_accuracy": [round(sum(v[i] == world.truth[i] for i in range(pairs)) / pairs, 3) for v in verdicts],
        "counted": [j["overlap"]["counted"] for j in judge_table],
        "estimated": [j["overlap"]["estimated_accuracy"] for j in judge_table],
        "dropped": manifest["counts"].get("dropped"), "unjudged": unjudged, "judges_in_export": manifest["judges"],
    }))
finally:
    endpoint.shutdown()
    if not os.environ.get("KEEP"):
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(work)
