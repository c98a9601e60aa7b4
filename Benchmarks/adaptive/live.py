#!/usr/bin/env python3
"""Adaptive overlap through the live server (issue 21): paced annotators of a
simulated crowd judge through `arbiter serve` over HTTP, exactly as people would
(the server leases pairs, settles them, refreshes rater accuracies in the
background as judgements arrive); then the export's labels are scored against the
truth and the judgements spent are counted.

    python3 live.py ARBITER ROOT FAMILY SEED PAIRS ANNOTATORS -- PROJECT OPTIONS...

Families: classic, difficulty, confusion (see crowds.py).
Prints one JSON line: judgements, labelled pairs, label accuracy.
"""
import json
import os
import random
import shutil
import sqlite3
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import campaign  # noqa: E402
import crowds  # noqa: E402

arbiter, root, family, seed, pairs, annotators = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
options = sys.argv[sys.argv.index("--") + 1:]
# Mean seconds between one annotator's judgements: 40 annotators at ~2.75 s give
# ~15 judgements/s, so the server refreshes rater accuracies every 250 judgements
# (its floor of 15 s between refreshes is just reached) — as in a real campaign,
# where people take 10-30 s per judgement and 250 judgements take minutes.
pace = float(os.environ.get("PACE", "2.0"))

world = crowds.World(family, seed, pairs, annotators, pace)
truth, raters = world.truth, world.raters


work = tempfile.mkdtemp()
try:
    db, tokens = campaign.set_up(arbiter, root, work, "live", options,
                                 [{"id": f"p{i}", "prompt": f"prompt {i}", "response_a": f"p{i} A: an answer", "response_b": f"p{i} B: another answer"}
                                  for i in range(pairs)], annotators)
    generators = [random.Random(seed * 1000 + index) for index in range(annotators)]

    def decide(index, assignment):
        pair = int(assignment["left"].split(" ")[0][1:])
        left_is_a = assignment["left"].split(" ")[1] == "A:"
        r = generators[index]
        return campaign.shown_side(world.judge(raters[index], pair, r), left_is_a), raters[index]["pace"] * r.uniform(0.5, 1.5)

    with campaign.serving(arbiter, root, db, 18600 + seed % 300):
        errors, elapsed = campaign.annotate(18600 + seed % 300, tokens, decide)
    if errors:
        print(json.dumps({"errors": errors[:5]}))
        sys.exit(1)
    labelled, right = campaign.score(campaign.export_rows(arbiter, root, db, "live", work), truth)
    judgements = sqlite3.connect(db).execute("SELECT count(*) FROM annotations").fetchone()[0]
    # Pairs the export could not label (no majority) count as wrong.
    print(json.dumps({"family": family, "seed": seed, "options": " ".join(options), "judgements": judgements, "labelled": labelled,
                      "accuracy": right / pairs, "seconds": round(elapsed, 1)}))
finally:
    shutil.rmtree(work, ignore_errors=True)
