#!/usr/bin/env python3
"""Tests of check_metric_names.py on the handwritten exposition sample: the
real dashboard and rules pass, and a missing family, a misspelt metric or a
wrong label are caught (so a passing live check means something).

  check_metric_names_test.py SOURCE_DIR
"""

import contextlib
import io
import json
import os
import sys
import tempfile
import unittest

SOURCE_DIR = os.path.abspath(sys.argv.pop(1) if len(sys.argv) > 1 else
                             os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "deploy"))
import check_metric_names  # noqa: E402

SAMPLE = os.path.join(SOURCE_DIR, "tests/deploy/testdata/exposition_sample.txt")
DASHBOARD = os.path.join(SOURCE_DIR, "deploy/grafana/dashboards/lineserve.json")
RULES = os.path.join(SOURCE_DIR, "deploy/prometheus/alerts.yml")


def run_checker(*args):
    out = io.StringIO()
    saved = sys.argv
    sys.argv = ["check_metric_names.py", *args]
    try:
        with contextlib.redirect_stdout(out):
            status = check_metric_names.main()
    finally:
        sys.argv = saved
    return status, out.getvalue()


class CheckMetricNamesTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)

    def write(self, name, text):
        path = os.path.join(self.tmp.name, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_real_dashboard_and_rules_pass_on_sample(self):
        status, out = run_checker("--exposition", SAMPLE, "--dashboard",
                                  DASHBOARD, "--rules", RULES)
        self.assertEqual(status, 0, out)
        self.assertIn("OK", out)

    def test_missing_family_fails(self):
        with open(SAMPLE) as f:
            lines = [l for l in f if "lineserve_batch_size" not in l]
        exposition = self.write("partial.txt", "".join(lines))
        status, out = run_checker("--exposition", exposition, "--dashboard",
                                  DASHBOARD, "--rules", RULES)
        self.assertEqual(status, 1)
        self.assertIn("lineserve_batch_size_bucket is not exported", out)

    def test_misspelt_metric_and_wrong_label_fail(self):
        dashboard = {"panels": [{"title": "bad", "targets": [
            {"refId": "A", "expr": 'sum(rate(lineserve_request_total[5m]))'},
            {"refId": "B",
             "expr": 'sum by (line) (lineserve_inspections_total{plant="x"})'},
        ]}]}
        path = self.write("bad.json", json.dumps(dashboard))
        status, out = run_checker("--exposition", SAMPLE, "--dashboard", path)
        self.assertEqual(status, 1)
        self.assertIn("lineserve_request_total is not exported", out)
        self.assertIn("has no label 'plant'", out)

    def test_selectors_skip_functions_labels_and_variables(self):
        expr = ('histogram_quantile(0.99, sum by (le, model) (rate('
                'lineserve_request_duration_seconds_bucket{model=~"$model"}'
                '[$__rate_interval]))) / ignoring(code) group_left '
                'max without (version) (lineserve_queue_capacity > 0) '
                'and on(line) time() - process_start_time_seconds offset 5m')
        self.assertEqual(
            list(check_metric_names.metric_selectors(expr)),
            [("lineserve_request_duration_seconds_bucket", ["model"]),
             ("lineserve_queue_capacity", []),
             ("process_start_time_seconds", [])])

    def test_rules_reader_finds_block_and_plain_expressions(self):
        exprs, records = check_metric_names.rules_expressions(RULES)
        self.assertIn("line:lineserve_defect_ratio:rate15m", records)
        self.assertTrue(any("lineserve_model_ready == 0" in e for _, e in exprs))
        self.assertTrue(any("histogram_quantile" in e for _, e in exprs))


if __name__ == "__main__":
    unittest.main(verbosity=2)
