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
import json
import math
import os
import random
import shutil
import sqlite3
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import campaign  # noqa: E402

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
try:
    db, tokens = campaign.set_up(arbiter, root, work, "live", options,
                                 [{"id": f"p{i}", "prompt": f"prompt {i}", "response_a": f"p{i} A: an answer", "response_b": f"p{i} B: another answer"}
                                  for i in range(pairs)], annotators)
    generators = [random.Random(seed * 1000 + index) for index in range(annotators)]

    def decide(index, assignment):
        pair = int(assignment["left"].split(" ")[0][1:])
        left_is_a = assignment["left"].split(" ")[1] == "A:"
        r = generators[index]
        return campaign.shown_side(judge(raters[index], pair, r), left_is_a), raters[index]["pace"] * r.uniform(0.5, 1.5)

    with campaign.serving(arbiter, root, db, 18600 + seed % 300):
        errors, elapsed = campaign.annotate(18600 + seed % 300, tokens, decide)
    if errors:
        print(json.dumps({"errors": errors[:5]}))
        sys.exit(1)
    right = 0
    labelled = 0
    for row in campaign.export_rows(arbiter, root, db, "live", work):
        pair = int(row["prompt"].split(" ")[1]) if isinstance(row["prompt"], str) else int(row["prompt"][-1]["content"].split(" ")[1])
        chosen = row["chosen"] if isinstance(row["chosen"], str) else row["chosen"][-1]["content"]
        labelled += 1
        right += chosen.split(" ")[1] == truth[pair] + ":"
    judgements = sqlite3.connect(db).execute("SELECT count(*) FROM annotations").fetchone()[0]
    # Pairs the export could not label (no majority) count as wrong.
    print(json.dumps({"family": family, "seed": seed, "options": " ".join(options), "judgements": judgements, "labelled": labelled,
                      "accuracy": right / pairs, "seconds": round(elapsed, 1)}))
finally:
    shutil.rmtree(work, ignore_errors=True)
