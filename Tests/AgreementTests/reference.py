#!/usr/bin/env python3
"""Reference values for AgreementTests from the packages the field uses:
krippendorff (alpha), statsmodels (Fleiss' kappa), scikit-learn (Cohen's kappa).
Reads a JSON file, prints JSON."""
import json
import sys

import krippendorff
import numpy as np
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import fleiss_kappa

data = json.load(open(sys.argv[1]))
out = {}


def matrix(rows):
    return np.array([[np.nan if v is None else v for v in row] for row in rows], dtype=float)


out["alpha_nominal"] = krippendorff.alpha(reliability_data=matrix(data["categories"]), level_of_measurement="nominal")
out["alpha_ordinal"] = krippendorff.alpha(reliability_data=matrix(data["signed"]), level_of_measurement="ordinal")
out["alpha_interval"] = krippendorff.alpha(reliability_data=matrix(data["signed"]), level_of_measurement="interval")
out["fleiss"] = fleiss_kappa(np.array(data["fleiss"]), method="fleiss")
out["cohen"] = [cohen_kappa_score(a, b) for a, b in data["cohen"]]
print(json.dumps(out))
