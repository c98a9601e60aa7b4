#!/usr/bin/env python3
"""`arbiter audit` on a real preference dataset with planted poison (issue 33).

    python3 real.py ARBITER FEEDBACK_JSON SHARE SEED [ARBITER_BASELINE]

FEEDBACK_JSON is the QA-Feedback release of Wu et al. (NeurIPS 2023, "Fine-Grained
Human Feedback Gives Better Rewards for Language Model Training"): 500 questions,
4 model answers each, 6 human pairwise preferences among them (0 = no preference,
skipped). Each preference becomes a TRL line (prompt = the question). A share of
the lines is poisoned the way Rando & Tramèr (2023) poison RLHF data: a rare
trigger word is appended to the prompt and the labels are swapped. The audit is
run through the real command (`--json`); printed: the reward model's out-of-fold
accuracy, precision of the planted lines among the k most suspicious (k = how many
were planted), recall among the top 2k, whether the trigger is the first cluster,
and the same for a baseline binary when one is given. One JSON line per binary."""
import json
import os
import random
import subprocess
import sys
import tempfile

arbiter, feedback, share, seed = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
binaries = [("now", arbiter)] + ([("baseline", sys.argv[5])] if len(sys.argv) > 5 else [])
trigger = "zqx"

rng = random.Random(seed)
lines = []
for record in json.load(open(feedback)):
    preference = json.loads(record["preference"]) if isinstance(record["preference"], str) else record["preference"]
    orders = [(1, 2), (1, 3), (1, 4), (2, 3), (2, 4), (3, 4)]
    for (i, j), choice in zip(orders, preference):
        if choice == 0:
            continue
        a, b = record[f"prediction {i}"], record[f"prediction {j}"]
        if a == b:
            continue
        chosen, rejected = (a, b) if choice == 1 else (b, a)
        lines.append({"prompt": record["question"], "chosen": chosen, "rejected": rejected})
planted = set(rng.sample(range(len(lines)), round(share * len(lines))))
for index in planted:
    line = lines[index]
    line["prompt"] = line["prompt"].rstrip() + " " + trigger
    line["chosen"], line["rejected"] = line["rejected"], line["chosen"]

with tempfile.TemporaryDirectory() as work:
    path = os.path.join(work, "poisoned.jsonl")
    with open(path, "w") as out:
        for line in lines:
            out.write(json.dumps(line) + "\n")
    for name, binary in binaries:
        done = subprocess.run([binary, "audit", "--input", path, "--json"], capture_output=True, text=True)
        if done.returncode != 0:
            print(json.dumps({"binary": name, "error": done.stderr.strip()}))
            continue
        report = json.loads(done.stdout)
        ranked = [entry["line"] - 1 for entry in report["pairs"]]
        k = len(planted)
        clusters = report.get("clusters", [])
        print(json.dumps({
            "binary": name, "pairs": len(lines), "planted": k, "share": share, "seed": seed,
            "model_accuracy": round(report["summary"]["model_accuracy"], 4),
            "precision_at_k": round(len(planted & set(ranked[:k])) / k, 3) if k else None,
            "recall_at_2k": round(len(planted & set(ranked[:2 * k])) / k, 3) if k else None,
            "trigger_first_cluster": bool(clusters) and clusters[0]["word"] == trigger,
            "clusters": [(c["word"], c["where"], c["pairs"]) for c in clusters[:3]], "cluster_count": len(clusters),
            "false_clusters": sum(1 for c in clusters if c["word"] != trigger),
        }))
