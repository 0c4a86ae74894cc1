#!/usr/bin/env python3
"""Stock scikit-learn (and XGBoost) regressors on the efficiency trainer's folds.

    deploy/scripts/efficiency_baselines.py METRICS_JSON CSV [--target COLUMN]

METRICS_JSON is the metrics.json of a version that `lineserve-train
efficiency` cross-validated (its split.fold_of_row says which fold tested
each row of CSV). Each learner is trained on a fold's other rows and scored
on the fold's rows, so its per-fold MAE sits beside the trainer's. Encoding:
what a stock pipeline does with this kind of table: numeric columns as they
are (blanks: the training median), text columns one-hot, dates left out.

Needs python3-sklearn and python3-pandas (and python3-xgboost for the XGBoost
row); they are not among install-deps.sh's packages: this is an analysis tool
for the model's closing notes, not part of the build or the tests.
"""
import argparse
import json
import math
import re
import sys

import numpy as np
import pandas as pd
from sklearn.ensemble import GradientBoostingRegressor, RandomForestRegressor

DATE = re.compile(r"^\s*\d+[/-]\d+[/-]\d+\s*$")


def encode(frame, target, train_mask):
    """Numeric columns kept (training median for blanks), text one-hot."""
    columns = []
    for name in frame.columns:
        if name == target:
            continue
        values = frame[name]
        numeric = pd.to_numeric(values, errors="coerce")
        text = values.astype(str).str.strip()
        if numeric.notna().sum() >= values.replace("", np.nan).notna().sum():
            columns.append(numeric.fillna(numeric[train_mask].median()).rename(name))
        elif text.str.match(DATE).all():
            continue
        else:
            columns.append(pd.get_dummies(text.str.lower(), prefix=name))
    return pd.concat(columns, axis=1).astype(float).values


def learners():
    yield "sklearn GradientBoostingRegressor()", lambda: GradientBoostingRegressor(
        random_state=0)
    yield "sklearn RandomForestRegressor()", lambda: RandomForestRegressor(
        random_state=0, n_jobs=1)
    yield ("sklearn GradientBoostingRegressor(absolute_error, depth 4, "
           "lr 0.05, 300 trees, subsample 0.8)"), lambda: GradientBoostingRegressor(
               loss="absolute_error", max_depth=4, learning_rate=0.05,
               n_estimators=300, subsample=0.8, random_state=0)
    try:
        from xgboost import XGBRegressor
    except ImportError:
        return
    yield "xgboost XGBRegressor()", lambda: XGBRegressor(n_jobs=1, random_state=0)


def mean_sd(values):
    mean = sum(values) / len(values)
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("metrics")
    parser.add_argument("csv")
    parser.add_argument("--target", default=None)
    args = parser.parse_args()
    metrics = json.load(open(args.metrics))
    target = args.target or metrics["target"]
    fold_of_row = np.array(metrics["split"]["fold_of_row"])
    frame = pd.read_csv(args.csv, dtype=str, keep_default_na=False)
    if len(frame) != len(fold_of_row):
        sys.exit(f"{args.csv} has {len(frame)} rows, {args.metrics} "
                 f"{len(fold_of_row)}: not the table that version was trained on")
    y = pd.to_numeric(frame[target], errors="coerce").values
    folds = sorted(set(fold_of_row) - {-1})

    rows = []
    trainer = [f["mae"] for f in metrics.get("cross_validation", {}).get("folds", [])]
    if trainer:
        rows.append(("lineserve-train (" + metrics["training"].get("learner", "?") + ")",
                     trainer))
    for name, make in learners():
        maes = []
        for k in folds:
            test = fold_of_row == k
            train = (fold_of_row != k) & (fold_of_row != -1)
            x = encode(frame, target, train)
            model = make().fit(x[train], y[train])
            maes.append(float(np.mean(np.abs(model.predict(x[test]) - y[test]))))
        rows.append((name, maes))

    width = max(len(name) for name, _ in rows)
    print(f"{'learner':{width}s}  " + "  ".join(f"fold {k + 1}" for k in folds)
          + "  mean +- sd")
    for name, maes in rows:
        mean, sd = mean_sd(maes)
        print(f"{name:{width}s}  " + "  ".join(f"{m:.4f}" for m in maes)
              + f"  {mean:.4f} +- {sd:.4f}")


if __name__ == "__main__":
    main()
