#!/usr/bin/env python3
"""Adaptive overlap through the live server (issue 21): paced annotators of a
simulated crowd judge through `arbiter serve` over HTTP, exactly as people would
(the server leases pairs, settles them, refreshes rater accuracies in the
background as judgements arrive); then the export's labels are scored against the
truth and the judgements spent are counted.

    python3 live.py ARBITER ROOT FAMILY SEED PAIRS ANNOTATORS -- PROJECT OPTIONS...

Families (written apart from the detector, like Sources/Agreement/CrowdSimulator):
  classic     honest raters with 5-30% uniform noise
  difficulty  a third of pairs hard (50-60% right for everyone), the rest easy
              (85-99% right by skill)
  confusion   each rater knows the answer with probability skill x easiness and
              otherwise guesses their favourite side; some call "both bad"
Every family: 10% attackers (half random clickers, half label flippers), and
annotator speeds with a long tail (some do ten times more than others).
Prints one JSON line: judgements, labelled pairs, label accuracy.
"""
import http.client
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time

arbiter, root, family, seed, pairs, annotators = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
options = sys.argv[sys.argv.index("--") + 1:]
# Mean seconds between one annotator's judgements: 40 annotators at ~2.75 s give
# ~15 judgements/s, so the server refreshes rater accuracies every 250 judgements
# (its floor of 15 s between refreshes is just reached) — as in a real campaign,
# where people take 10-30 s per judgement and 250 judgements take minutes.
pace = float(os.environ.get("PACE", "2.0"))
rng = random.Random(seed)

# The world: truth and difficulty per pair; a behaviour per annotator.
truth = [rng.choice("AB") for _ in range(pairs)]
easiness = [rng.uniform(0, 0.2) if rng.random() < 1 / 3 else rng.uniform(0.7, 1.0) for _ in range(pairs)]
kinds = ["honest"] * annotators
attackers = max(2, round(annotators * 0.1))
for i in range(attackers):
    kinds[annotators - 1 - i] = "random" if i % 2 == 0 else "flipper"
raters = []
for kind in kinds:
    raters.append({
        "kind": kind, "noise": rng.uniform(0.05, 0.3), "skill": rng.uniform(0.6, 1.0), "favourite": rng.choice("AB"),
        "side_bias": rng.uniform(0.5, 0.9), "both_bad": rng.uniform(0, 0.08),
        # Seconds between judgements: log-normal, so a few annotators do most of the work.
        "pace": pace * math.exp(rng.gauss(0, 0.8)),
    })


def other(side):
    return "B" if side == "A" else "A"


def judge(rater, pair, r):
    t = truth[pair]
    if rater["kind"] == "random":
        return r.choice(["A", "B", "A", "B", "tie", "both_bad"])
    if rater["kind"] == "flipper":
        return other(t)
    if family == "classic":
        return r.choice(["A", "B", "tie", "both_bad"]) if r.random() < rater["noise"] else t
    if family == "difficulty":
        level = (rater["skill"] - 0.6) / 0.4
        if easiness[pair] < 0.2:
            if r.random() < 0.15:
                return "tie"
            return t if r.random() < 0.5 + 0.1 * level else other(t)
        return t if r.random() < 0.85 + 0.14 * level else other(t)
    # confusion
    if r.random() < rater["both_bad"]:
        return "both_bad"
    if r.random() < rater["skill"] * easiness[pair]:
        return t
    return rater["favourite"] if r.random() < rater["side_bias"] else other(rater["favourite"])


work = tempfile.mkdtemp()
db = os.path.join(work, "live.sqlite")
migrations = ["--migrations-dir", os.path.join(root, "Migrations")]
try:
    subprocess.run([arbiter, "project", "create", "--db", db, *migrations, "--name", "live", *options, "--json"], check=True, capture_output=True)
    with open(os.path.join(work, "pairs.jsonl"), "w") as f:
        for i in range(pairs):
            f.write(json.dumps({"id": f"p{i}", "prompt": f"prompt {i}", "response_a": f"p{i} A: an answer", "response_b": f"p{i} B: another answer"}) + "\n")
    subprocess.run([arbiter, "import", "pairs", "--db", db, *migrations, "--project", "live", os.path.join(work, "pairs.jsonl")], check=True, capture_output=True)
    tokens = subprocess.run([sys.executable, os.path.join(root, "Benchmarks/annotate/seed_annotators.py"), db, str(annotators)],
                            check=True, capture_output=True, text=True).stdout.split()
    project = 1
    port = 18600 + seed % 300
    server = subprocess.Popen([arbiter, "serve", "--db", db, *migrations, "--public-dir", os.path.join(root, "Public"), "--port", str(port),
                               "--max-connections-per-address", "100000"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                c.request("GET", "/healthz")
                if c.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.1)
        errors = []

        def annotate(index):
            rater, token = raters[index], tokens[index]
            r = random.Random(seed * 1000 + index)
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            idle = 0
            while True:
                connection.request("GET", f"/api/projects/{project}/next", headers=headers)
                response = connection.getresponse()
                body = response.read()
                if response.status == 204:
                    # Nothing for me now: pairs may reopen when accuracies change.
                    idle += 1
                    if idle > 3:
                        return
                    time.sleep(0.5)
                    continue
                idle = 0
                if response.status != 200:
                    errors.append(f"next {response.status} {body[:200]}")
                    return
                assignment = json.loads(body)["assignment"]
                pair = int(assignment["left"].split(" ")[0][1:])
                left_is_a = assignment["left"].split(" ")[1] == "A:"
                choice = judge(rater, pair, r)
                shown = {"A": "left" if left_is_a else "right", "B": "right" if left_is_a else "left"}.get(choice, choice)
                time.sleep(rater["pace"] * r.uniform(0.5, 1.5))
                connection.request("POST", f"/api/assignments/{assignment['id']}/annotation",
                                   body=json.dumps({"choice": shown, "duration_ms": int(4000 + r.random() * 20000)}), headers=headers)
                response = connection.getresponse()
                body = response.read()
                if response.status not in (200, 201, 409):
                    errors.append(f"annotate {response.status} {body[:200]}")
                    return

        start = time.time()
        threads = [threading.Thread(target=annotate, args=(i,)) for i in range(annotators)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.time() - start
    finally:
        server.terminate()
        server.wait()
    if errors:
        print(json.dumps({"errors": errors[:5]}))
        sys.exit(1)
    out = os.path.join(work, "labels.jsonl")
    subprocess.run([arbiter, "export", "--db", db, *migrations, "--project", "live", "--format", "trl", "--out", out], check=True, capture_output=True)
    right = 0
    labelled = 0
    with open(out) as f:
        for line in f:
            row = json.loads(line)
            pair = int(row["prompt"].split(" ")[1]) if isinstance(row["prompt"], str) else int(row["prompt"][-1]["content"].split(" ")[1])
            chosen = row["chosen"] if isinstance(row["chosen"], str) else row["chosen"][-1]["content"]
            labelled += 1
            right += chosen.split(" ")[1] == truth[pair] + ":"
    import sqlite3
    judgements = sqlite3.connect(db).execute("SELECT count(*) FROM annotations").fetchone()[0]
    # Pairs the export could not label (no majority) count as wrong.
    print(json.dumps({"family": family, "seed": seed, "options": " ".join(options), "judgements": judgements, "labelled": labelled,
                      "accuracy": right / pairs, "seconds": round(elapsed, 1)}))
finally:
    shutil.rmtree(work, ignore_errors=True)
