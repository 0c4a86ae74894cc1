"""The lineserve Python package as a user installs it (pip, from the
checkout): its helpers answer what the server answered before the typed
pipeline (the golden answers, bit for bit), its errors carry the server's
code, and lineserve-py works from a shell."""

import os
import subprocess
import sys
import tempfile
import unittest

import grpc

import lineserve

import common


class PackageTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.client = lineserve.Client(common.GRPC_TARGET, timeout=30)

    @classmethod
    def tearDownClass(cls):
        cls.client.close()

    def test_inspect_paths_and_bytes_give_the_golden_answers(self):
        golden = {os.path.basename(a["file"]): a
                  for a in common.golden_answers("inspect_answers.jsonl")}
        self.assertEqual(len(golden), len(common.images()))
        for path, data in common.images():
            want = golden[os.path.basename(path)]
            for image in (path, data):
                got = self.client.inspect(image, line_id="line-1", part_id="p-7")
                self.assertEqual(got.verdict,
                                 lineserve.DEFECT if want["verdict"] == "DEFECT" else lineserve.OK)
                self.assertEqual(got.defect_class, want["defect_class"])
                self.assertEqual(common.f32(got.defect_probability),
                                 common.f32(want["defect_probability"]))
                for score in got.scores:
                    self.assertEqual(common.f32(score.probability),
                                     common.f32(want["scores"][score.label]))
                self.assertEqual(got.part_id, "p-7")
                self.assertEqual((got.answered_by.model_name, got.answered_by.model_version),
                                 (want["model"], want["model_version"]))

    def test_predict_takes_table_rows_as_they_are(self):
        rows = lineserve.read_rows(os.path.join(common.GOLDEN, "rows.csv"))
        self.assertIn("date", rows[0])  # columns the model does not read
        got = self.client.predict(rows)
        want = common.golden_answers("predict_answers.jsonl")
        self.assertEqual(len(got), len(want))
        for g, w in zip(got, sorted(want, key=lambda a: a["row"])):
            self.assertEqual(common.f32(g), common.f32(w["efficiency"]))

    def test_read_rows_drops_a_byte_order_mark_and_takes_a_delimiter(self):
        with tempfile.NamedTemporaryFile("wb", suffix=".csv", delete=False) as f:
            f.write(b"\xef\xbb\xbfquarter;team;smv\nQuarter1;3;26.5\n")
        try:
            self.assertEqual(lineserve.read_rows(f.name, delimiter=";"),
                             [{"quarter": "Quarter1", "team": 3.0, "smv": 26.5}])
        finally:
            os.unlink(f.name)

    def test_health_and_models(self):
        self.assertTrue(self.client.live())
        self.assertTrue(self.client.ready())
        self.assertTrue(self.client.ready(common.QUALITY))
        self.assertTrue(self.client.ready(common.EFFICIENCY, version=1))
        names = sorted(m.name for m in self.client.list_models())
        self.assertEqual(names, [common.EFFICIENCY, common.QUALITY])
        self.assertIn("team", self.client.features())

    def test_errors_carry_the_servers_code(self):
        with self.assertRaises(lineserve.LineserveError) as caught:
            self.client.inspect(b"not an image")
        self.assertEqual(caught.exception.code, grpc.StatusCode.INVALID_ARGUMENT)
        with self.assertRaises(lineserve.LineserveError) as caught:
            self.client.predict([{"team": 1.0}], model="no_such_model")
        self.assertEqual(caught.exception.code, grpc.StatusCode.NOT_FOUND)
        # This server has no admin token: model control is switched off.
        with self.assertRaises(lineserve.LineserveError) as caught:
            self.client.unload(common.QUALITY)
        self.assertEqual(caught.exception.code, grpc.StatusCode.PERMISSION_DENIED)
        self.assertTrue(self.client.ready(common.QUALITY))
        with self.assertRaises(TypeError):
            self.client.predict([{"team": True}])

    def test_the_command_line(self):
        def run(*args):
            return subprocess.run(
                [sys.executable, "-m", "lineserve", "--server", common.GRPC_TARGET] +
                list(args), capture_output=True, text=True, timeout=60)

        paths = [p for p, _ in common.images()]
        done = run("inspect", *paths)
        self.assertEqual(done.returncode, 0, done.stderr)
        lines = done.stdout.splitlines()
        self.assertEqual(len(lines), len(paths))
        for path, line in zip(paths, lines):
            self.assertTrue(line.startswith(path + " -> "), line)
        done = run("predict", os.path.join(common.GOLDEN, "rows.csv"))
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(len(done.stdout.splitlines()), 3)
        self.assertEqual(run("ready", common.QUALITY).returncode, 0)
        missing = run("inspect", "/nonexistent/part.png")
        self.assertEqual(missing.returncode, 2)
        self.assertIn("local error", missing.stderr)


if __name__ == "__main__":
    unittest.main()
