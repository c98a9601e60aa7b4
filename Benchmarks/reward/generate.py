#!/usr/bin/env python3
"""N synthetic TRL preference lines with a planted signal, seeded.

A 3,000-word Zipfian vocabulary; 300 words carry a hidden quality weight.
Each response is 15–60 words; the label is drawn from the Bradley–Terry
probability of the hidden quality difference (so it is noisy: no model can
be right every time), and length is independent of the label.
    python3 generate.py N [SEED] > pairs.jsonl
"""
import json
import math
import random
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 7)
vocabulary = [f"w{i}" for i in range(3000)]
zipf = [1 / (rank + 1) ** 1.1 for rank in range(len(vocabulary))]
quality = {}
for word in rng.sample(vocabulary[:1500], 300):
    quality[word] = rng.gauss(0, 1.0)
out = sys.stdout


def response():
    words = rng.choices(vocabulary, weights=zipf, k=rng.randint(15, 60))
    return " ".join(words), sum(quality.get(word, 0.0) for word in words)


for i in range(n):
    prompt = " ".join(rng.choices(vocabulary, weights=zipf, k=12)) + "?"
    (a, qa), (b, qb) = response(), response()
    a_wins = rng.random() < 1 / (1 + math.exp(-(qa - qb)))
    chosen, rejected = (a, b) if a_wins else (b, a)
    out.write(json.dumps({"prompt": prompt, "chosen": chosen, "rejected": rejected}) + "\n")
