"""The Client class and its helpers."""

import csv
import os

import grpc

from lineserve.inference import grpc_service_pb2 as oip_pb2
from lineserve.inference import grpc_service_pb2_grpc as oip_grpc
from lineserve.v1 import common_pb2
from lineserve.v1 import efficiency_prediction_pb2 as efficiency_pb2
from lineserve.v1 import efficiency_prediction_pb2_grpc as efficiency_grpc
from lineserve.v1 import model_service_pb2
from lineserve.v1 import model_service_pb2_grpc
from lineserve.v1 import quality_inspection_pb2 as quality_pb2
from lineserve.v1 import quality_inspection_pb2_grpc as quality_grpc

OK = quality_pb2.VERDICT_OK
DEFECT = quality_pb2.VERDICT_DEFECT

# The server's default message limit (--max-message-bytes).
_MAX_MESSAGE_BYTES = 16 << 20


class LineserveError(Exception):
    """A call the server (or the channel) refused: code and message."""

    def __init__(self, code, message):
        super().__init__("%s: %s" % (code.name, message))
        self.code = code
        self.message = message


def _model_spec(model, version):
    return common_pb2.ModelSpec(name=model or "", version=int(version or 0))


def _feature_value(name, value):
    if isinstance(value, bool):
        raise TypeError("feature %r: a bool is neither number nor category" % name)
    if isinstance(value, (int, float)):
        return efficiency_pb2.FeatureValue(number=float(value))
    if isinstance(value, str):
        return efficiency_pb2.FeatureValue(category=value)
    raise TypeError("feature %r: %r is neither number nor string" % (name, value))


def read_rows(path, delimiter=","):
    """Rows of a CSV file as dicts; cells that parse as numbers become floats.

    A UTF-8 byte-order mark (as Excel writes) is dropped from the header.
    """
    rows = []
    with open(path, newline="", encoding="utf-8-sig") as f:
        for record in csv.DictReader(f, delimiter=delimiter):
            row = {}
            for name, cell in record.items():
                try:
                    row[name] = float(cell)
                except (TypeError, ValueError):
                    row[name] = cell
            rows.append(row)
    return rows


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def tls_credentials(tls_ca=None, tls_cert=None, tls_key=None):
    """grpc.ChannelCredentials for a server started with --tls-cert.

    tls_ca: PEM file of the CA that signed the server's certificate (None:
    the system's roots). tls_cert, tls_key: this client's PEM certificate
    and key, for a server that requires mutual TLS (--tls-client-ca); both
    or neither.
    """
    if (tls_cert is None) != (tls_key is None):
        raise ValueError("tls_cert and tls_key go together")
    return grpc.ssl_channel_credentials(
        root_certificates=_read(tls_ca) if tls_ca else None,
        private_key=_read(tls_key) if tls_key else None,
        certificate_chain=_read(tls_cert) if tls_cert else None)


class Client:
    """A channel to one lineserve server; thread-safe, like its channel.

    target: "host:port". timeout: seconds, sent as each call's deadline.
    admin_token: sent as a bearer token on model-control calls.
    TLS, either way: credentials, grpc.ChannelCredentials; or tls=True and
    the PEM files tls_ca, tls_cert, tls_key (see tls_credentials; any of
    them implies tls). tls_server_name: the name the server's certificate
    holds when it is not target's host (e.g. connecting to an IP address).
    Neither: a plaintext channel.
    """

    def __init__(self, target="127.0.0.1:8500", timeout=10.0, admin_token=None,
                 credentials=None, tls=False, tls_ca=None, tls_cert=None,
                 tls_key=None, tls_server_name=None):
        options = [("grpc.max_send_message_length", _MAX_MESSAGE_BYTES),
                   ("grpc.max_receive_message_length", _MAX_MESSAGE_BYTES)]
        if credentials is None and (tls or tls_ca or tls_cert or tls_key):
            credentials = tls_credentials(tls_ca, tls_cert, tls_key)
        if tls_server_name:
            options.append(("grpc.ssl_target_name_override", tls_server_name))
        if credentials is None:
            self.channel = grpc.insecure_channel(target, options=options)
        else:
            self.channel = grpc.secure_channel(target, credentials, options=options)
        self.timeout = timeout
        self._admin_token = admin_token
        self.quality = quality_grpc.QualityInspectionStub(self.channel)
        self.efficiency = efficiency_grpc.EfficiencyPredictionStub(self.channel)
        self.models = model_service_pb2_grpc.ModelServiceStub(self.channel)
        self.oip = oip_grpc.GRPCInferenceServiceStub(self.channel)

    def close(self):
        self.channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _call(self, method, request, metadata=None):
        try:
            return method(request, timeout=self.timeout, metadata=metadata)
        except grpc.RpcError as e:
            raise LineserveError(e.code(), e.details()) from None

    def inspect(self, image, model=None, version=0, line_id="", station_id="",
                part_id="", request_id=""):
        """Inspects one image: a path, or the encoded PNG/JPEG bytes.

        Returns the lineserve.v1.InspectResponse (verdict, defect_class,
        defect_probability, scores, answered_by, timing).
        """
        if isinstance(image, (str, os.PathLike)):
            with open(image, "rb") as f:
                image = f.read()
        request = quality_pb2.InspectRequest(
            image=bytes(image), request_id=request_id, line_id=line_id,
            station_id=station_id, part_id=part_id,
            model=_model_spec(model, version))
        return self._call(self.quality.Inspect, request)

    def features(self, model="efficiency_prediction", version=0):
        """The feature names a tabular model reads (its config's order)."""
        status = self._call(self.models.GetModel,
                            model_service_pb2.GetModelRequest(name=model))
        wanted = int(version) or status.default_version
        config = status.config
        for v in status.versions:
            if v.version == wanted and v.HasField("config"):
                config = v.config
        return [f.name for f in config.tabular.features]

    def predict_response(self, rows, model=None, version=0, line_id=""):
        """The lineserve.v1.PredictResponse for rows (dicts of feature -> value).

        Columns the model does not read (a date, the measured target) are
        left out, as lineserve-cli does, so a table's rows go in as they are.
        """
        used = set(self.features(model or "efficiency_prediction", version))
        request = efficiency_pb2.PredictRequest(model=_model_spec(model, version))
        for i, row in enumerate(rows):
            message = request.rows.add(row_id=str(i), line_id=line_id)
            for name, value in row.items():
                if name in used:
                    message.features[name].CopyFrom(_feature_value(name, value))
        return self._call(self.efficiency.Predict, request)

    def predict(self, rows, model=None, version=0, line_id=""):
        """Predicted efficiency of each row, in order (floats)."""
        response = self.predict_response(rows, model, version, line_id)
        return [p.efficiency for p in response.predictions]

    def list_models(self):
        """lineserve.v1.ModelStatus of every model the server knows."""
        return list(self._call(self.models.ListModels,
                               model_service_pb2.ListModelsRequest()).models)

    def ready(self, model=None, version=""):
        """Open Inference Protocol readiness: the server's, or one model's."""
        if model is None:
            return self._call(self.oip.ServerReady,
                              oip_pb2.ServerReadyRequest()).ready
        return self._call(self.oip.ModelReady, oip_pb2.ModelReadyRequest(
            name=model, version=str(version))).ready

    def live(self):
        return self._call(self.oip.ServerLive, oip_pb2.ServerLiveRequest()).live

    def _control(self, method, model):
        metadata = None
        if self._admin_token:
            metadata = [("authorization", "Bearer " + self._admin_token)]
        return self._call(method, model_service_pb2.ModelControlRequest(name=model),
                          metadata=metadata)

    def load(self, model):
        return self._control(self.models.LoadModel, model)

    def unload(self, model):
        return self._control(self.models.UnloadModel, model)

    def reload(self, model):
        return self._control(self.models.ReloadModel, model)
