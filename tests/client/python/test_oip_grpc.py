"""The Open Inference Protocol over gRPC, called by a client built from the
specification's facts (oip_spec.py), never from lineserve's own .proto:
every RPC, ModelInfer typed and raw for both models, and the answers equal
to the domain API's (lineserve.Client) for the same images and rows."""

import struct
import unittest

import grpc

import lineserve
from lineserve.inference import grpc_service_pb2 as ours

import common
import oip_spec

TIMEOUT = 30


class OipGrpcTest(common.GoldenClient, unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.spec = oip_spec.Spec()
        cls.channel = grpc.insecure_channel(common.GRPC_TARGET)
        cls.call = cls.spec.stub(cls.channel)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        super().tearDownClass()

    def rpc(self, name, request):
        return self.call[name](request, timeout=TIMEOUT)

    def refused(self, name, request):
        with self.assertRaises(grpc.RpcError) as caught:
            self.rpc(name, request)
        return caught.exception

    # --- The interface ---------------------------------------------------

    def test_lineserve_proto_declares_the_specification(self):
        for full, _ in oip_spec.MESSAGES:
            spec = self.spec.pool.FindMessageTypeByName("inference." + full)
            mine = ours.DESCRIPTOR.pool.FindMessageTypeByName("inference." + full)
            self.assertEqual(oip_spec.field_facts(mine), oip_spec.field_facts(spec), full)
        service = ours.DESCRIPTOR.services_by_name[oip_spec.SERVICE]
        self.assertEqual(
            sorted((m.name, m.input_type.name, m.output_type.name)
                   for m in service.methods),
            sorted(oip_spec.RPCS))

    # --- Health and metadata ---------------------------------------------

    def test_server_live_and_ready(self):
        self.assertTrue(self.rpc("ServerLive", self.spec.ServerLiveRequest()).live)
        self.assertTrue(self.rpc("ServerReady", self.spec.ServerReadyRequest()).ready)

    def test_model_ready(self):
        for model in (common.QUALITY, common.EFFICIENCY):
            for version in ("", "1"):
                answer = self.rpc("ModelReady", self.spec.ModelReadyRequest(
                    name=model, version=version))
                self.assertTrue(answer.ready, (model, version))
        error = self.refused("ModelReady", self.spec.ModelReadyRequest(name="no_such"))
        self.assertEqual(error.code(), grpc.StatusCode.NOT_FOUND)
        self.assertIn("no_such", error.details())

    def test_server_metadata(self):
        answer = self.rpc("ServerMetadata", self.spec.ServerMetadataRequest())
        self.assertEqual(answer.name, "lineserve")
        self.assertRegex(answer.version, r"^\d+\.\d+\.\d+")

    def test_model_metadata_describes_the_quality_model(self):
        answer = self.rpc("ModelMetadata",
                          self.spec.ModelMetadataRequest(name=common.QUALITY))
        self.assertEqual(answer.name, common.QUALITY)
        self.assertEqual(list(answer.versions), ["1"])
        self.assertEqual(answer.platform, "torchscript")
        self.assertEqual([(t.name, t.datatype, list(t.shape)) for t in answer.inputs],
                         [("image", "BYTES", [-1])])
        labels = len(self.client.inspect(self.images[0][1]).scores)
        self.assertEqual(
            [(t.name, t.datatype, list(t.shape)) for t in answer.outputs],
            [("probabilities", "FP32", [-1, labels]), ("verdict", "BYTES", [-1]),
             ("defect_class", "BYTES", [-1]), ("defect_probability", "FP32", [-1])])

    def test_model_metadata_describes_the_efficiency_model(self):
        answer = self.rpc("ModelMetadata", self.spec.ModelMetadataRequest(
            name=common.EFFICIENCY, version="1"))
        self.assertEqual([t.name for t in answer.inputs], self.features)
        for t in answer.inputs:
            numeric = isinstance(self.rows[0][t.name], float)
            self.assertEqual(t.datatype, "FP32" if numeric else "BYTES", t.name)
            self.assertEqual(list(t.shape), [-1])
        self.assertEqual([(t.name, t.datatype, list(t.shape)) for t in answer.outputs],
                         [("efficiency", "FP32", [-1])])
        error = self.refused("ModelMetadata", self.spec.ModelMetadataRequest(
            name=common.EFFICIENCY, version="9"))
        self.assertEqual(error.code(), grpc.StatusCode.NOT_FOUND)

    # --- ModelInfer, quality ---------------------------------------------

    def domain_inspections(self):
        return [self.client.inspect(data) for _, data in self.images]

    def check_inspections(self, probabilities, verdicts, classes, defect_p, exact):
        expected = self.domain_inspections()
        labels = [s.label for s in expected[0].scores]
        k = len(labels)
        for i, want in enumerate(expected):
            scores = {s.label: s.probability for s in want.scores}
            row = probabilities[i * k:(i + 1) * k]
            for label, got in zip(labels, row):
                if exact:
                    self.assertEqual(common.f32(got), common.f32(scores[label]))
                else:
                    self.assertAlmostEqual(got, scores[label], places=5)
            self.assertEqual(verdicts[i], b"defect" if want.verdict == lineserve.DEFECT else b"ok")
            self.assertEqual(classes[i], want.defect_class.encode())
            self.assertAlmostEqual(defect_p[i], want.defect_probability, places=5)

    def test_infer_images_typed_as_one_batch(self):
        request = self.spec.ModelInferRequest(model_name=common.QUALITY, id="batch-1")
        image = request.inputs.add(name="image", datatype="BYTES",
                                   shape=[len(self.images)])
        image.contents.bytes_contents.extend(data for _, data in self.images)
        answer = self.rpc("ModelInfer", request)
        self.assertEqual(answer.id, "batch-1")
        self.assertEqual((answer.model_name, answer.model_version), (common.QUALITY, "1"))
        self.assertEqual(len(answer.raw_output_contents), 0)
        out = {t.name: t for t in answer.outputs}
        self.assertEqual(list(out), ["probabilities", "verdict", "defect_class",
                                     "defect_probability"])
        self.assertEqual(out["probabilities"].shape[0], len(self.images))
        self.check_inspections(list(out["probabilities"].contents.fp32_contents),
                               list(out["verdict"].contents.bytes_contents),
                               list(out["defect_class"].contents.bytes_contents),
                               list(out["defect_probability"].contents.fp32_contents),
                               exact=False)

    def test_infer_images_raw_one_by_one_equal_bit_for_bit(self):
        probabilities, verdicts, classes, defect_p = [], [], [], []
        for i, (_, data) in enumerate(self.images):
            request = self.spec.ModelInferRequest(model_name=common.QUALITY,
                                                  model_version="1", id=str(i))
            request.inputs.add(name="image", datatype="BYTES", shape=[1])
            request.raw_input_contents.append(common.length_prefixed([data]))
            answer = self.rpc("ModelInfer", request)
            self.assertEqual(answer.id, str(i))
            self.assertEqual(len(answer.raw_output_contents), 4)
            for t in answer.outputs:
                self.assertFalse(t.HasField("contents"), t.name)
            raw = answer.raw_output_contents
            probabilities += struct.unpack("<%df" % (len(raw[0]) // 4), raw[0])
            verdicts += common.split_length_prefixed(raw[1])
            classes += common.split_length_prefixed(raw[2])
            defect_p += struct.unpack("<f", raw[3])
        self.check_inspections(probabilities, verdicts, classes, defect_p, exact=True)

    def test_requested_outputs_only_in_the_order_asked(self):
        request = self.spec.ModelInferRequest(model_name=common.QUALITY)
        request.inputs.add(name="image", datatype="BYTES",
                           shape=[1]).contents.bytes_contents.append(self.images[0][1])
        request.outputs.add(name="defect_probability")
        request.outputs.add(name="verdict")
        answer = self.rpc("ModelInfer", request)
        self.assertEqual([t.name for t in answer.outputs],
                         ["defect_probability", "verdict"])

    # --- ModelInfer, efficiency ------------------------------------------

    def feature_request(self, raw, numeric_type="FP32"):
        request = self.spec.ModelInferRequest(model_name=common.EFFICIENCY, id="rows")
        for name in self.features:
            values = [row[name] for row in self.rows]
            numeric = isinstance(values[0], float)
            datatype = numeric_type if numeric else "BYTES"
            tensor = request.inputs.add(name=name, datatype=datatype,
                                        shape=[len(values)])
            if raw and numeric:
                code = "<%d%s" % (len(values), "f" if datatype == "FP32" else "d")
                request.raw_input_contents.append(struct.pack(code, *values))
            elif raw:
                request.raw_input_contents.append(
                    common.length_prefixed([v.encode() for v in values]))
            elif numeric and datatype == "FP32":
                tensor.contents.fp32_contents.extend(values)
            elif numeric:
                tensor.contents.fp64_contents.extend(values)
            else:
                tensor.contents.bytes_contents.extend(v.encode() for v in values)
        return request

    def check_efficiencies(self, got):
        expected = self.client.predict(self.rows)
        self.assertEqual(len(got), len(expected))
        for g, want in zip(got, expected):
            self.assertAlmostEqual(g, want, places=5)

    def test_infer_rows_typed(self):
        for numeric_type in ("FP32", "FP64"):
            answer = self.rpc("ModelInfer", self.feature_request(False, numeric_type))
            self.assertEqual(answer.id, "rows")
            self.assertEqual([t.name for t in answer.outputs], ["efficiency"])
            self.assertEqual(list(answer.outputs[0].shape), [len(self.rows)])
            self.check_efficiencies(list(answer.outputs[0].contents.fp32_contents))

    def test_infer_rows_raw(self):
        for numeric_type in ("FP32", "FP64"):
            answer = self.rpc("ModelInfer", self.feature_request(True, numeric_type))
            raw = answer.raw_output_contents[0]
            self.check_efficiencies(struct.unpack("<%df" % (len(raw) // 4), raw))

    # --- Refusals --------------------------------------------------------

    def assert_invalid(self, request, naming):
        error = self.refused("ModelInfer", request)
        self.assertEqual(error.code(), grpc.StatusCode.INVALID_ARGUMENT, error.details())
        self.assertIn(naming, error.details())

    def test_mismatches_name_the_tensor(self):
        wrong_type = self.spec.ModelInferRequest(model_name=common.QUALITY)
        wrong_type.inputs.add(name="image", datatype="INT32",
                              shape=[1]).contents.int_contents.append(7)
        self.assert_invalid(wrong_type, "image")

        wrong_shape = self.spec.ModelInferRequest(model_name=common.QUALITY)
        wrong_shape.inputs.add(name="image", datatype="BYTES",
                               shape=[3]).contents.bytes_contents.append(self.images[0][1])
        self.assert_invalid(wrong_shape, "image")

        unknown = self.feature_request(False)
        unknown.inputs.add(name="colour", datatype="FP32",
                           shape=[len(self.rows)]).contents.fp32_contents.extend(
                               [1.0] * len(self.rows))
        self.assert_invalid(unknown, "colour")

        category_as_number = self.feature_request(False)
        for tensor in category_as_number.inputs:
            if tensor.datatype == "BYTES":
                name = tensor.name
                tensor.datatype = "FP32"
                tensor.contents.Clear()
                tensor.contents.fp32_contents.extend([1.0] * len(self.rows))
                break
        self.assert_invalid(category_as_number, name)

        wrong_output = self.feature_request(False)
        wrong_output.outputs.add(name="probabilities")
        self.assert_invalid(wrong_output, "probabilities")

    def test_unknown_model_is_not_found(self):
        request = self.spec.ModelInferRequest(model_name="no_such_model")
        request.inputs.add(name="x", datatype="FP32", shape=[1]).contents.fp32_contents.append(1)
        error = self.refused("ModelInfer", request)
        self.assertEqual(error.code(), grpc.StatusCode.NOT_FOUND)
        self.assertIn("no_such_model", error.details())


if __name__ == "__main__":
    unittest.main()
