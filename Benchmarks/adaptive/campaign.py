"""A collection campaign through the live server, shared by live.py (simulated
crowds) and replay.py (real crowds replayed worker by worker): a project and its
pairs in a fresh SQLite file, annotators with tokens, `arbiter serve` on a port,
annotator threads that lease, judge and submit as people would, and the export's
labels afterwards."""
import contextlib
import http.client
import json
import os
import random
import subprocess
import sys
import threading
import time


def migrations(root):
    return ["--migrations-dir", os.path.join(root, "Migrations")]


def set_up(arbiter, root, work, name, options, pairs, annotators):
    """Creates project `name` with `options`, imports `pairs` (dicts), adds
    `annotators` annotators; returns (database path, their tokens)."""
    db = os.path.join(work, f"{name}.sqlite")
    subprocess.run([arbiter, "project", "create", "--db", db, *migrations(root), "--name", name, *options, "--json"], check=True, capture_output=True)
    path = os.path.join(work, "pairs.jsonl")
    with open(path, "w") as f:
        for pair in pairs:
            f.write(json.dumps(pair) + "\n")
    subprocess.run([arbiter, "import", "pairs", "--db", db, *migrations(root), "--project", name, path], check=True, capture_output=True)
    tokens = subprocess.run([sys.executable, os.path.join(root, "Benchmarks/annotate/seed_annotators.py"), db, str(annotators)],
                            check=True, capture_output=True, text=True).stdout.split()
    return db, tokens


@contextlib.contextmanager
def serving(arbiter, root, db, port, extra=()):
    """`arbiter serve` on `port` (with `extra` flags) until the block ends, answering /healthz first."""
    server = subprocess.Popen([arbiter, "serve", "--db", db, *migrations(root), "--public-dir", os.path.join(root, "Public"), "--port", str(port),
                               "--max-connections-per-address", "100000", *extra], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                connection.request("GET", "/healthz")
                if connection.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.1)
        yield
    finally:
        server.terminate()
        server.wait()


def annotate(port, tokens, decide, idle_limit=3, idle_sleep=0.5, start_delay=lambda index: 0.0):
    """One thread per token: lease (`next`), ask `decide(index, assignment)` for
    (choice shown — "left", "right", "tie", "both_bad" — or None to skip, seconds
    to take), submit; stop after `idle_limit` empty answers in a row (pairs may
    reopen when accuracies are refreshed). Returns (errors, seconds)."""
    errors = []

    def run(index):
        durations = random.Random(index)
        time.sleep(start_delay(index))
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {"Authorization": f"Bearer {tokens[index]}", "Content-Type": "application/json"}
        idle = 0
        while True:
            connection.request("GET", "/api/projects/1/next", headers=headers)
            response = connection.getresponse()
            body = response.read()
            if response.status == 204:
                idle += 1
                if idle > idle_limit:
                    return
                time.sleep(idle_sleep)
                continue
            idle = 0
            if response.status != 200:
                errors.append(f"next {response.status} {body[:200]}")
                return
            assignment = json.loads(body)["assignment"]
            shown, seconds = decide(index, assignment)
            time.sleep(seconds)
            if shown is None:
                connection.request("POST", f"/api/assignments/{assignment['id']}/skip", body="{}", headers=headers)
                connection.getresponse().read()
                continue
            connection.request("POST", f"/api/assignments/{assignment['id']}/annotation",
                               body=json.dumps({"choice": shown, "duration_ms": int(4000 + durations.random() * 20000)}), headers=headers)
            response = connection.getresponse()
            body = response.read()
            if response.status not in (200, 201, 409):
                errors.append(f"annotate {response.status} {body[:200]}")
                return

    start = time.time()
    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(tokens))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors, time.time() - start


def shown_side(choice, left_is_a):
    """The side as shown for a canonical choice (A, B, tie, both_bad)."""
    if choice == "A":
        return "left" if left_is_a else "right"
    if choice == "B":
        return "right" if left_is_a else "left"
    return choice


def export_rows(arbiter, root, db, name, work):
    """The TRL export's rows (Dawid–Skene-weighted, the default)."""
    out = os.path.join(work, "labels.jsonl")
    subprocess.run([arbiter, "export", "--db", db, *migrations(root), "--project", name, "--format", "trl", "--out", out], check=True, capture_output=True)
    with open(out) as f:
        return [json.loads(line) for line in f]


def score(rows, truth):
    """(pairs labelled, labels right) of export rows whose prompt is "prompt N" and
    whose responses start "pN A:" / "pN B:", against `truth` (A or B per pair)."""
    labelled = right = 0
    for row in rows:
        prompt = row["prompt"] if isinstance(row["prompt"], str) else row["prompt"][-1]["content"]
        chosen = row["chosen"] if isinstance(row["chosen"], str) else row["chosen"][-1]["content"]
        labelled += 1
        right += chosen.split(" ")[1] == truth[int(prompt.split(" ")[1])] + ":"
    return labelled, right
