#!/usr/bin/env python3
"""scikit-learn's LogisticRegression on arbiter's hashed features (svmlight).
    sklearn_peer.py PREFIX BITS  -> {"accuracy", "load_s", "fit_s"} on stdout"""
import json
import sys
import time

start = time.time()
from sklearn.datasets import load_svmlight_file  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

prefix, features = sys.argv[1], 1 << int(sys.argv[2])
X_train, y_train = load_svmlight_file(prefix + ".train.svm", n_features=features, zero_based=True)
X_test, y_test = load_svmlight_file(prefix + ".test.svm", n_features=features, zero_based=True)
loaded = time.time()
model = LogisticRegression(fit_intercept=False, solver="lbfgs", C=1.0, max_iter=1000)
model.fit(X_train, y_train)
fitted = time.time()
accuracy = float((model.predict(X_test) == y_test).mean())
print(json.dumps({"accuracy": accuracy, "load_s": loaded - start, "fit_s": fitted - loaded}))
