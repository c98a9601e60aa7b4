#!/usr/bin/env python3
"""Rater quality on real crowds with gold answers, through the real command line:
each binary item becomes a pair (response A = label 0, B = label 1), each worker's
label a judgement; `arbiter raters --json` flags; `arbiter export` aggregates.

    python3 real.py ARBITER MIGRATIONS WORK CROWD_DIR...

CROWD_DIR holds answer.csv (question,worker,answer) and truth.csv (question,truth).
A worker is *bad* at gold accuracy < 0.6 over >= 20 items, *good* at >= 0.8 over
>= 20. Label accuracy counts an item no aggregate decides (a tie) as half right.
Prints a Markdown table and one JSON line per crowd (for the record)."""
import collections
import csv
import json
import os
import subprocess
import sys

arbiter, migrations, work = sys.argv[1], sys.argv[2], sys.argv[3]
crowds = sys.argv[4:]


def run(*args):
    done = subprocess.run([arbiter, *args, "--migrations-dir", migrations], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"arbiter {' '.join(args[:2])}: {done.stderr.strip()}")
    return done.stdout


def export_accuracy(db, truth, aggregate, include_flagged, questions):
    out = os.path.join(work, f"export-{aggregate}-{include_flagged}.jsonl")
    args = ["export", "--db", db, "--project", "crowd", "--format", "trl", "--out", out, "--aggregate", aggregate]
    if include_flagged:
        args.append("--include-flagged")
    run(*args)
    decided = {}
    for line in open(out):
        row = json.loads(line)
        decided[questions[int(row["prompt"].removeprefix("item "))]] = 0 if row["chosen"] == "label 0" else 1
    return sum(1.0 if decided.get(q) == t else 0.5 if q not in decided else 0.0 for q, t in truth.items()) / len(truth)


results = []
for crowd in crowds:
    name = os.path.basename(os.path.normpath(crowd))
    answers = collections.defaultdict(dict)
    for row in csv.DictReader(open(os.path.join(crowd, "answer.csv"))):
        answers[row["question"]][row["worker"]] = int(row["answer"])
    truth = {row["question"]: int(row["truth"]) for row in csv.DictReader(open(os.path.join(crowd, "truth.csv")))}
    db = os.path.join(work, f"{name}.sqlite")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)
    pairs = os.path.join(work, f"{name}.pairs.jsonl")
    judgements = os.path.join(work, f"{name}.judgements.jsonl")
    with open(pairs, "w") as out:
        # The prompt names the item by its position only: the crowds' question ids
        # name the records compared (items sharing a record share words, which the
        # trigger signal would read) and, in `product`, end in the gold label.
        for position, question in enumerate(answers):
            out.write(json.dumps({"id": question, "prompt": f"item {position}", "response_a": "label 0", "response_b": "label 1"}) + "\n")
    with open(judgements, "w") as out:
        for question, labels in answers.items():
            for worker, label in labels.items():
                out.write(json.dumps({"pair": question, "annotator": f"w-{worker}", "choice": "A" if label == 0 else "B"}) + "\n")
    questions = list(answers)
    most = max(len(labels) for labels in answers.values())
    run("project", "create", "--db", db, "--name", "crowd", "--overlap", str(most))
    run("import", "pairs", "--db", db, "--project", "crowd", pairs)
    run("import", "annotations", "--db", db, "--project", "crowd", judgements)
    report = json.loads(run("raters", "--db", db, "--project", "crowd", "--json"))
    flagged = {}
    for rater in report["raters"]:
        if rater["status"] == "flagged":
            flagged[rater["annotator"].removeprefix("w-")] = rater.get("finding") or "flagged"
    gold = {}
    for question, labels in answers.items():
        if question not in truth:
            continue
        for worker, label in labels.items():
            right, seen = gold.get(worker, (0, 0))
            gold[worker] = (right + (label == truth[question]), seen + 1)
    bad = {w for w, (r, n) in gold.items() if n >= 20 and r / n < 0.6}
    good = {w for w, (r, n) in gold.items() if n >= 20 and r / n >= 0.8}
    result = {
        "crowd": name, "items": len(answers), "workers": len(gold), "bad": len(bad), "good": len(good),
        "bad_flagged": len(bad & flagged.keys()), "good_flagged": sorted(good & flagged.keys()),
        "flagged": len(flagged), "findings": dict(collections.Counter(flagged.values())),
        "majority_all": export_accuracy(db, truth, "majority", True, questions), "majority_without_flagged": export_accuracy(db, truth, "majority", False, questions),
        "weighted_all": export_accuracy(db, truth, "weighted", True, questions), "weighted_without_flagged": export_accuracy(db, truth, "weighted", False, questions),
        "missed_bad": sorted(bad - flagged.keys()),
        "flagged_workers": {w: [flagged[w], round(gold[w][0] / gold[w][1], 3) if w in gold else None, gold.get(w, (0, 0))[1]] for w in sorted(flagged)},
    }
    results.append(result)

print("| crowd | bad workers flagged | good workers flagged | flagged (findings) | majority vs gold: all → without the flagged | weighted export: all → default |")
print("|---|---|---|---|---|---|")
for r in results:
    findings = ", ".join(f"{k} {v}" for k, v in sorted(r["findings"].items())) or "—"
    print(f"| {r['crowd']} ({r['items']:,} items, {r['workers']} workers) | {r['bad_flagged']} of {r['bad']} | {len(r['good_flagged'])} of {r['good']} "
          f"| {r['flagged']} ({findings}) | {r['majority_all']:.4f} → {r['majority_without_flagged']:.4f} | {r['weighted_all']:.4f} → {r['weighted_without_flagged']:.4f} |")
for r in results:
    print(json.dumps(r))
