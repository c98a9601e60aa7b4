"""The simulated crowds of the live benchmarks (adaptive/live.py, judges/live.py):
the truth and difficulty of each pair and a behaviour per annotator, written
apart from the detector (like Sources/Agreement/CrowdSimulator).

Families:
  classic     honest raters with 5-30% uniform noise
  difficulty  a third of pairs hard (50-60% right for everyone), the rest easy
              (85-99% right by skill)
  confusion   each rater knows the answer with probability skill x easiness and
              otherwise guesses their favourite side; some call "both bad"
Every family: 10% attackers (half random clickers, half label flippers), and
annotator speeds with a long tail (some do ten times more than others)."""
import math
import random


class World:
    def __init__(self, family, seed, pairs, annotators, pace):
        rng = random.Random(seed)
        self.family = family
        # The world: truth and difficulty per pair (a third hard); a behaviour per annotator.
        self.truth = [rng.choice("AB") for _ in range(pairs)]
        self.easiness = [rng.uniform(0, 0.2) if rng.random() < 1 / 3 else rng.uniform(0.7, 1.0) for _ in range(pairs)]
        kinds = ["honest"] * annotators
        attackers = max(2, round(annotators * 0.1))
        for i in range(attackers):
            kinds[annotators - 1 - i] = "random" if i % 2 == 0 else "flipper"
        self.raters = []
        for kind in kinds:
            self.raters.append({
                "kind": kind, "noise": rng.uniform(0.05, 0.3), "skill": rng.uniform(0.6, 1.0), "favourite": rng.choice("AB"),
                "side_bias": rng.uniform(0.5, 0.9), "both_bad": rng.uniform(0, 0.08),
                # Seconds between judgements: log-normal, so a few annotators do most of the work.
                "pace": pace * math.exp(rng.gauss(0, 0.8)),
            })

    def hard(self, pair):
        return self.easiness[pair] < 0.2

    def judge(self, rater, pair, r):
        """What annotator `rater` (a dict of self.raters) answers on `pair`: A, B, tie or both_bad."""
        t = self.truth[pair]
        if rater["kind"] == "random":
            return r.choice(["A", "B", "A", "B", "tie", "both_bad"])
        if rater["kind"] == "flipper":
            return other(t)
        if self.family == "classic":
            return r.choice(["A", "B", "tie", "both_bad"]) if r.random() < rater["noise"] else t
        if self.family == "difficulty":
            level = (rater["skill"] - 0.6) / 0.4
            if self.easiness[pair] < 0.2:
                if r.random() < 0.15:
                    return "tie"
                return t if r.random() < 0.5 + 0.1 * level else other(t)
            return t if r.random() < 0.85 + 0.14 * level else other(t)
        # confusion
        if r.random() < rater["both_bad"]:
            return "both_bad"
        if r.random() < rater["skill"] * self.easiness[pair]:
            return t
        return rater["favourite"] if r.random() < rater["side_bias"] else other(rater["favourite"])


def other(side):
    return "B" if side == "A" else "A"
