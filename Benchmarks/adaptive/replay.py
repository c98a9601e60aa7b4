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
import collections
import csv
import json
import os
import random
import shutil
import sqlite3
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import campaign  # noqa: E402

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
try:
    # Items are named by position only (the crowds' ids can carry the label).
    db, tokens = campaign.set_up(arbiter, root, work, "replay", options,
                                 [{"id": f"i{i}", "prompt": f"item {i}", "response_a": f"i{i} A: label 0", "response_b": f"i{i} B: label 1"}
                                  for i in range(len(items))], len(workers))
    generators = [random.Random(seed * 1000 + position) for position in range(len(workers))]

    def decide(position, assignment):
        worker = workers[position]
        item = items[int(assignment["left"].split(" ")[0][1:])]
        left_is_a = assignment["left"].split(" ")[1] == "A:"
        label = labels[worker].get(item)
        seconds = paces[worker] * generators[position].uniform(0.5, 1.5)
        if label is None:
            return None, seconds  # never labelled it: skip
        return campaign.shown_side("A" if label == 0 else "B", left_is_a), seconds

    port = 18900 + seed % 90
    with campaign.serving(arbiter, root, db, port):
        # People do not all start at once; pairs may reopen when accuracies are refreshed.
        errors, elapsed = campaign.annotate(port, tokens, decide, idle_limit=4, idle_sleep=1.0,
                                            start_delay=lambda position: generators[position].uniform(0, 3 * pace))
    if errors:
        print(json.dumps({"errors": errors[:5]}))
        sys.exit(1)
    decided = {}
    for row in campaign.export_rows(arbiter, root, db, "replay", work):
        decided[items[int(row["prompt"].split(" ")[1])]] = 0 if row["chosen"].split(" ")[1] == "A:" else 1
    accuracy = sum(1.0 if decided.get(q) == t else 0.5 if q not in decided else 0.0 for q, t in truth.items()) / len(truth)
    connection = sqlite3.connect(db)
    judgements = connection.execute("SELECT count(*) FROM annotations").fetchone()[0]
    chosen = connection.execute("SELECT threshold, expected_error, fixed_three_error, expected_judgements FROM stop_thresholds").fetchone()
    by_count = dict(connection.execute("SELECT n, count(*) FROM (SELECT pair_id, count(*) AS n FROM annotations GROUP BY pair_id) GROUP BY n").fetchall())
    print(json.dumps({"crowd": os.path.basename(os.path.normpath(crowd)), "seed": seed, "options": " ".join(options), "judgements": judgements,
                      "labelled": len(decided), "accuracy": accuracy, "seconds": round(elapsed, 1),
                      "threshold": chosen and [round(v, 4) for v in chosen], "items_by_judgements": by_count}))
finally:
    shutil.rmtree(work, ignore_errors=True)
