#!/usr/bin/env python3
"""A real crowd replayed through the live server (issue 33): every worker of a
public crowd with gold answers becomes an annotator of `arbiter serve`; each asks
for work (`next`), answers with the label they really gave that item, and submits,
at a person's pace. A worker the server leases an item they never labelled skips
it (a crowd where every worker labels every item, like `duck`, never skips).
Then the export's labels (Dawid–Skene-weighted, the default) are scored against
the gold, and the judgements spent counted.

    python3 replay.py ARBITER ROOT CROWD_DIR SEED -- PROJECT OPTIONS...

CROWD_DIR holds answer.csv (question,worker,answer) and truth.csv (question,truth),
binary labels. Prints one JSON line: judgements, labelled items, label accuracy
(an item the export leaves undecided counts half)."""
import csv
import collections
import http.client
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time

arbiter, root, crowd, seed = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
options = sys.argv[sys.argv.index("--") + 1:]
pace = float(os.environ.get("PACE", "0.6"))
rng = random.Random(seed)

labels = collections.defaultdict(dict)
for row in csv.DictReader(open(os.path.join(crowd, "answer.csv"))):
    labels[row["worker"]][row["question"]] = int(row["answer"])
truth = {row["question"]: int(row["truth"]) for row in csv.DictReader(open(os.path.join(crowd, "truth.csv")))}
items = sorted({q for answers in labels.values() for q in answers})
index = {q: i for i, q in enumerate(items)}
workers = sorted(labels)
rng.shuffle(workers)  # the order of arrival, by the seed
# Seconds between one worker's judgements: log-normal around the pace.
paces = {w: pace * (2.718 ** rng.gauss(0, 0.6)) for w in workers}

work = tempfile.mkdtemp()
db = os.path.join(work, "replay.sqlite")
migrations = ["--migrations-dir", os.path.join(root, "Migrations")]
try:
    subprocess.run([arbiter, "project", "create", "--db", db, *migrations, "--name", "replay", *options, "--json"], check=True, capture_output=True)
    with open(os.path.join(work, "pairs.jsonl"), "w") as f:
        for i, q in enumerate(items):
            # Items are named by position only (the crowds' ids can carry the label).
            f.write(json.dumps({"id": f"i{i}", "prompt": f"item {i}", "response_a": f"i{i} A: label 0", "response_b": f"i{i} B: label 1"}) + "\n")
    subprocess.run([arbiter, "import", "pairs", "--db", db, *migrations, "--project", "replay", os.path.join(work, "pairs.jsonl")], check=True, capture_output=True)
    tokens = subprocess.run([sys.executable, os.path.join(root, "Benchmarks/annotate/seed_annotators.py"), db, str(len(workers))],
                            check=True, capture_output=True, text=True).stdout.split()
    port = 18900 + seed % 90
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

        def annotate(position):
            worker, token = workers[position], tokens[position]
            r = random.Random(seed * 1000 + position)
            time.sleep(r.uniform(0, 3 * pace))  # people do not all start at once
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            idle = 0
            while True:
                connection.request("GET", "/api/projects/1/next", headers=headers)
                response = connection.getresponse()
                body = response.read()
                if response.status == 204:
                    idle += 1  # pairs may reopen when accuracies are refreshed
                    if idle > 4:
                        return
                    time.sleep(1.0)
                    continue
                idle = 0
                if response.status != 200:
                    errors.append(f"next {response.status} {body[:200]}")
                    return
                assignment = json.loads(body)["assignment"]
                item = items[int(assignment["left"].split(" ")[0][1:])]
                left_is_a = assignment["left"].split(" ")[1] == "A:"
                label = labels[worker].get(item)
                time.sleep(paces[worker] * r.uniform(0.5, 1.5))
                if label is None:
                    connection.request("POST", f"/api/assignments/{assignment['id']}/skip", body="{}", headers=headers)
                    response = connection.getresponse()
                    response.read()
                    continue
                choice = "A" if label == 0 else "B"
                shown = ("left" if left_is_a else "right") if choice == "A" else ("right" if left_is_a else "left")
                connection.request("POST", f"/api/assignments/{assignment['id']}/annotation",
                                   body=json.dumps({"choice": shown, "duration_ms": int(4000 + r.random() * 20000)}), headers=headers)
                response = connection.getresponse()
                body = response.read()
                if response.status not in (200, 201, 409):
                    errors.append(f"annotate {response.status} {body[:200]}")
                    return

        start = time.time()
        threads = [threading.Thread(target=annotate, args=(i,)) for i in range(len(workers))]
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
    subprocess.run([arbiter, "export", "--db", db, *migrations, "--project", "replay", "--format", "trl", "--out", out], check=True, capture_output=True)
    decided = {}
    for line in open(out):
        row = json.loads(line)
        item = items[int(row["prompt"].split(" ")[1])]
        decided[item] = 0 if row["chosen"].split(" ")[1] == "A:" else 1
    accuracy = sum(1.0 if decided.get(q) == t else 0.5 if q not in decided else 0.0 for q, t in truth.items()) / len(truth)
    import sqlite3
    connection = sqlite3.connect(db)
    judgements = connection.execute("SELECT count(*) FROM annotations").fetchone()[0]
    chosen = connection.execute("SELECT threshold, expected_error, fixed_three_error, expected_judgements FROM stop_thresholds").fetchone()
    by_count = dict(connection.execute("SELECT n, count(*) FROM (SELECT pair_id, count(*) AS n FROM annotations GROUP BY pair_id) GROUP BY n").fetchall())
    print(json.dumps({"crowd": os.path.basename(os.path.normpath(crowd)), "seed": seed, "options": " ".join(options), "judgements": judgements,
                      "labelled": len(decided), "accuracy": accuracy, "seconds": round(elapsed, 1),
                      "threshold": chosen and [round(v, 4) for v in chosen], "items_by_judgements": by_count}))
finally:
    shutil.rmtree(work, ignore_errors=True)
