#!/usr/bin/env python3
"""Seed data for the item-browser benchmark, written to DIR:

  pairs.jsonl        N pairs: prompts and responses from a 5,000-word vocabulary
                     drawn Zipf-like (so some words are in most pairs and some in
                     a handful), 8 model names, a metadata source, 0.5% gold
  annotations.jsonl  3 judgements from 60 raters on 30% of the pairs, one rater
                     in ten judging at random
  search.json        the words the benchmark searches for, by how many pairs hold
                     them (common, middling, rare)

Seeded, so every run builds the same data.   python3 generate.py N DIR"""
import itertools
import json
import os
import random
import sys

n, out = int(sys.argv[1]), sys.argv[2]
rng = random.Random(7)
syllables = "ka lo mi ne ru sa ti vo ze pa do fe gu hi ja".split()
vocabulary = sorted({"".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))) for _ in range(8000)})[:5000]
rng.shuffle(vocabulary)
weights = [1 / (rank + 1) ** 1.1 for rank in range(len(vocabulary))]
cumulative = list(itertools.accumulate(weights))
models = ["llama-3-8b", "llama-3-70b", "mistral-7b", "qwen-2-72b", "gemma-2-9b", "gpt-4o-mini", "claude-haiku", "phi-3"]
sources = ["reddit", "forum", "support", "code", "math", "chat"]


def text(words):
    return " ".join(rng.choices(vocabulary, cum_weights=cumulative, k=words))


counts = {}
with open(os.path.join(out, "pairs.jsonl"), "w") as pairs:
    for i in range(n):
        prompt = text(rng.randint(8, 20)) + "?"
        a, b = text(rng.randint(20, 50)), text(rng.randint(20, 50))
        line = {"id": f"pair-{i}", "prompt": prompt, "response_a": a, "response_b": b,
                "model_a": rng.choice(models), "model_b": rng.choice(models), "metadata": {"source": rng.choice(sources)}}
        if rng.random() < 0.005:
            line["gold"] = rng.choice("AB")
        if i < 200_000:
            for word in set((prompt + " " + a + " " + b).replace("?", "").split()):
                counts[word] = counts.get(word, 0) + 1
        pairs.write(json.dumps(line) + "\n")

raters = [f"rater-{r}" for r in range(60)]
with open(os.path.join(out, "annotations.jsonl"), "w") as annotations:
    for i in range(0, n, 10):
        for j in range(3):
            pair = i + j
            if pair >= n:
                break
            truth = rng.choice("AB")
            for rater in rng.sample(raters, 3):
                random_rater = int(rater.split("-")[1]) % 10 == 0
                choice = rng.choice("AB") if random_rater else (truth if rng.random() < 0.8 else rng.choice(["A", "B", "tie", "both_bad"]))
                annotations.write(json.dumps({"pair": f"pair-{pair}", "annotator": rater, "choice": choice,
                                              "duration_ms": rng.randint(2000, 60000)}) + "\n")

# Words by how many of the first 200,000 pairs hold them: in about half, in about 1%, in a few.
by_share = sorted(counts.items(), key=lambda item: item[1])
share = lambda target: min(by_share, key=lambda item: abs(item[1] - target))[0]
sample = min(n, 200_000)
with open(os.path.join(out, "search.json"), "w") as f:
    json.dump({"common": share(sample * 0.5), "middling": share(sample * 0.01), "rare": share(max(3, sample // 40_000)),
               "sortable": share(sample * 0.0015),
               "model": "qwen", "source": "support"}, f)
