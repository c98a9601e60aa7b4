#!/usr/bin/env python3
"""Write N synthetic pair lines (plain format, ~450 bytes each) to stdout, seeded."""
import json
import random
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
rng = random.Random(42)
words = ("the model answer question explain clearly because result data value user "
         "response example better worse short long simple correct wrong helpful code list").split()
out = sys.stdout
for i in range(n):
    prompt = " ".join(rng.choice(words) for _ in range(15)) + f" #{i}?"
    a = " ".join(rng.choice(words) for _ in range(40))
    b = " ".join(rng.choice(words) for _ in range(35))
    out.write(json.dumps({"id": f"pair-{i}", "prompt": prompt, "response_a": a, "response_b": b,
                          "model_a": "large", "model_b": "small"}) + "\n")
