"""The Open Inference Protocol over HTTP/REST, called with a real HTTP
client (Python's http.client): every endpoint, the binary tensor data
extension, the refusals, and a listener that 50 idle connections cannot
slow down. Loopback only."""

import http.client
import json
import socket
import statistics
import struct
import time
import unittest

import lineserve

import common

TIMEOUT = 30


def request(method, path, body=None, headers=None):
    """(status, parsed JSON or text, content type) of one request."""
    connection = http.client.HTTPConnection("127.0.0.1", common.HTTP_PORT,
                                            timeout=TIMEOUT)
    try:
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        data = response.read()
        content_type = response.getheader("Content-Type", "")
        if content_type.startswith("application/json"):
            return response.status, json.loads(data), content_type
        return response.status, data.decode(), content_type
    finally:
        connection.close()


def binary_body(header, blobs):
    """The binary tensor data extension: JSON, then the tensors' bytes."""
    text = json.dumps(header).encode()
    return text + b"".join(blobs), {"Inference-Header-Content-Length": str(len(text)),
                                    "Content-Type": "application/octet-stream"}


class RestTest(common.GoldenClient, unittest.TestCase):

    def rows_body(self, numeric_type="FP64"):
        inputs = []
        for name in self.features:
            values = [row[name] for row in self.rows]
            numeric = isinstance(values[0], float)
            inputs.append({"name": name, "shape": [len(values)],
                           "datatype": numeric_type if numeric else "BYTES",
                           "data": values})
        return {"id": "rows-1", "inputs": inputs}

    def assert_error(self, answer, status, want_status, naming):
        self.assertEqual(status, want_status, answer)
        self.assertIsInstance(answer, dict)
        self.assertEqual(list(answer), ["error"])
        self.assertIn(naming, answer["error"])

    # --- Health and metadata ---------------------------------------------

    def test_server_metadata_and_health(self):
        status, answer, content_type = request("GET", "/v2")
        self.assertEqual((status, answer["name"]), (200, "lineserve"))
        self.assertTrue(content_type.startswith("application/json"))
        self.assertRegex(answer["version"], r"^\d+\.\d+\.\d+")
        self.assertEqual(request("GET", "/v2/health/live")[:2], (200, {"live": True}))
        self.assertEqual(request("GET", "/v2/health/ready")[:2], (200, {"ready": True}))

    def test_model_metadata_and_ready_with_and_without_version(self):
        for model in (common.QUALITY, common.EFFICIENCY):
            for prefix in ("/v2/models/" + model, "/v2/models/%s/versions/1" % model):
                status, meta, _ = request("GET", prefix)
                self.assertEqual(status, 200, prefix)
                self.assertEqual((meta["name"], meta["versions"], meta["platform"]),
                                 (model, ["1"], "torchscript"))
                status, ready, _ = request("GET", prefix + "/ready")
                self.assertEqual((status, ready), (200, {"name": model, "ready": True}))
        _, meta, _ = request("GET", "/v2/models/" + common.EFFICIENCY)
        self.assertEqual([t["name"] for t in meta["inputs"]], self.features)
        self.assertEqual(meta["outputs"],
                         [{"name": "efficiency", "datatype": "FP32", "shape": [-1]}])
        _, meta, _ = request("GET", "/v2/models/" + common.QUALITY)
        self.assertEqual(meta["inputs"], [{"name": "image", "datatype": "BYTES", "shape": [-1]}])

    def test_metrics(self):
        status, text, content_type = request("GET", "/metrics")
        self.assertEqual(status, 200)
        self.assertTrue(content_type.startswith("text/plain; version=0.0.4"))
        self.assertIn("lineserve_", text)

    # --- Infer -----------------------------------------------------------

    def test_infer_rows_as_json_equals_the_domain_api(self):
        expected = self.client.predict(self.rows)
        for numeric_type in ("FP32", "FP64"):
            status, answer, _ = request(
                "POST", "/v2/models/%s/infer" % common.EFFICIENCY,
                self.rows_body(numeric_type))
            self.assertEqual(status, 200, answer)
            self.assertEqual((answer["id"], answer["model_name"], answer["model_version"]),
                             ("rows-1", common.EFFICIENCY, "1"))
            (output,) = answer["outputs"]
            self.assertEqual((output["name"], output["datatype"], output["shape"]),
                             ("efficiency", "FP32", [len(self.rows)]))
            for got, want in zip(output["data"], expected):
                self.assertAlmostEqual(got, want, places=5)

    def test_infer_images_as_binary_data_equals_the_domain_api(self):
        header = {"id": "imgs", "inputs": [{
            "name": "image", "datatype": "BYTES", "shape": [len(self.images)],
            "parameters": {"binary_data_size": 0}}],
            "outputs": [{"name": "verdict"}, {"name": "defect_class"},
                        {"name": "probabilities"}]}
        blob = common.length_prefixed([data for _, data in self.images])
        header["inputs"][0]["parameters"]["binary_data_size"] = len(blob)
        body, headers = binary_body(header, [blob])
        status, answer, _ = request("POST", "/v2/models/%s/versions/1/infer" % common.QUALITY,
                                    body, headers)
        self.assertEqual(status, 200, answer)
        self.assertEqual(answer["id"], "imgs")
        out = {o["name"]: o for o in answer["outputs"]}
        self.assertEqual(list(out), ["verdict", "defect_class", "probabilities"])
        for i, (_, data) in enumerate(self.images):
            want = self.client.inspect(data)
            self.assertEqual(out["verdict"]["data"][i],
                             "defect" if want.verdict == lineserve.DEFECT else "ok")
            self.assertEqual(out["defect_class"]["data"][i], want.defect_class)
            k = len(want.scores)
            for got, score in zip(out["probabilities"]["data"][i * k:(i + 1) * k], want.scores):
                self.assertAlmostEqual(got, score.probability, places=5)

    def test_infer_rows_as_binary_data(self):
        header, blobs = {"inputs": []}, []
        for name in self.features:
            values = [row[name] for row in self.rows]
            if isinstance(values[0], float):
                blob, datatype = struct.pack("<%dd" % len(values), *values), "FP64"
            else:
                blob, datatype = common.length_prefixed([v.encode() for v in values]), "BYTES"
            header["inputs"].append({"name": name, "datatype": datatype,
                                     "shape": [len(values)],
                                     "parameters": {"binary_data_size": len(blob)}})
            blobs.append(blob)
        body, headers = binary_body(header, blobs)
        status, answer, _ = request("POST", "/v2/models/%s/infer" % common.EFFICIENCY,
                                    body, headers)
        self.assertEqual(status, 200, answer)
        for got, want in zip(answer["outputs"][0]["data"], self.client.predict(self.rows)):
            self.assertAlmostEqual(got, want, places=5)

    # --- Refusals --------------------------------------------------------

    def test_bad_json_is_400(self):
        status, answer, _ = request("POST", "/v2/models/%s/infer" % common.EFFICIENCY,
                                    b'{"inputs": [')
        self.assert_error(answer, status, 400, "JSON")

    def test_wrong_datatype_is_400_naming_the_tensor(self):
        body = self.rows_body()
        numeric = next(i for i in body["inputs"] if i["datatype"] == "FP64")
        numeric["datatype"] = "BYTES"
        status, answer, _ = request("POST", "/v2/models/%s/infer" % common.EFFICIENCY, body)
        self.assert_error(answer, status, 400, numeric["name"])

        category = next(i for i in self.rows_body()["inputs"] if i["datatype"] == "BYTES")
        body = self.rows_body()
        for tensor in body["inputs"]:
            if tensor["name"] == category["name"]:
                tensor["datatype"], tensor["data"] = "FP32", [1.0] * len(self.rows)
        status, answer, _ = request("POST", "/v2/models/%s/infer" % common.EFFICIENCY, body)
        self.assert_error(answer, status, 400, category["name"])

    def test_wrong_shape_is_400_naming_the_tensor(self):
        body = self.rows_body()
        body["inputs"][0]["shape"] = [len(self.rows) + 1]
        status, answer, _ = request("POST", "/v2/models/%s/infer" % common.EFFICIENCY, body)
        self.assert_error(answer, status, 400, body["inputs"][0]["name"])

    def test_binary_data_past_the_body_is_400(self):
        header = {"inputs": [{"name": "image", "datatype": "BYTES", "shape": [1],
                              "parameters": {"binary_data_size": 1000}}]}
        body, headers = binary_body(header, [b"\x00" * 10])
        status, answer, _ = request("POST", "/v2/models/%s/infer" % common.QUALITY,
                                    body, headers)
        self.assert_error(answer, status, 400, "binary_data_size")

    def test_unknown_model_and_endpoint_are_404(self):
        status, answer, _ = request("POST", "/v2/models/no_such_model/infer",
                                    self.rows_body())
        self.assert_error(answer, status, 404, "no_such_model")
        status, answer, _ = request("GET", "/v2/models/no_such_model")
        self.assert_error(answer, status, 404, "no_such_model")
        status, answer, _ = request("GET", "/v2/models/no_such_model/ready")
        self.assert_error(answer, status, 404, "no_such_model")
        status, answer, _ = request("GET", "/v2/nothing/here")
        self.assert_error(answer, status, 404, "/v2/nothing/here")

    def test_body_over_the_limit_is_413(self):
        body = b'{"inputs": []}' + b" " * common.HTTP_MAX_BODY
        status, answer, _ = request("POST", "/v2/models/%s/infer" % common.EFFICIENCY, body)
        self.assert_error(answer, status, 413, "request body above")
        # The listener serves the next request as usual.
        self.assertEqual(request("GET", "/v2/health/live")[0], 200)

    # --- A listener idle clients cannot stall ----------------------------

    def timed(self, method, path, body=None, repeat=7):
        """Median seconds of `repeat` requests, each on a new connection."""
        times = []
        for _ in range(repeat):
            start = time.monotonic()
            status, answer, _ = request(method, path, body)
            times.append(time.monotonic() - start)
            self.assertEqual(status, 200, answer)
        return statistics.median(times)

    def test_50_idle_connections_do_not_slow_scrapes_or_infer(self):
        infer_path = "/v2/models/%s/infer" % common.EFFICIENCY
        body = self.rows_body()
        usual_scrape = self.timed("GET", "/metrics")
        usual_infer = self.timed("POST", infer_path, body)
        idle = []
        try:
            for i in range(50):
                s = socket.create_connection(("127.0.0.1", common.HTTP_PORT), timeout=5)
                if i % 2:  # half send half a request line and then nothing
                    s.sendall(b"GET /metr")
                idle.append(s)
            scrape = self.timed("GET", "/metrics")
            infer = self.timed("POST", infer_path, body)
        finally:
            for s in idle:
                s.close()
        print("\n/metrics %.1f ms usual, %.1f ms with 50 idle connections; "
              "infer %.1f ms usual, %.1f ms with them" %
              (usual_scrape * 1e3, scrape * 1e3, usual_infer * 1e3, infer * 1e3))
        self.assertLess(scrape, usual_scrape + 0.1)
        self.assertLess(infer, usual_infer + 0.1)


if __name__ == "__main__":
    unittest.main()
