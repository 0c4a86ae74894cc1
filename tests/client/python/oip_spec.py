"""The Open Inference Protocol's gRPC interface, as facts from its
specification (KServe v2 / Open Inference Protocol, grpc_predict_v2):
package, service, RPCs, message names, field names, numbers, types and
labels. The tests build their own descriptors and client from these facts,
independently of proto/inference/grpc_service.proto, so a server that
answers this client answers any client generated from the specification's
file.
"""

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

PACKAGE = "inference"
SERVICE = "GRPCInferenceService"

# (message, [(field, number, type)]); type is a scalar, "repeated T",
# "map<string,T>" or a message name; "oneof NAME: T" marks a oneof member.
MESSAGES = [
    ("ServerLiveRequest", []),
    ("ServerLiveResponse", [("live", 1, "bool")]),
    ("ServerReadyRequest", []),
    ("ServerReadyResponse", [("ready", 1, "bool")]),
    ("ModelReadyRequest", [("name", 1, "string"), ("version", 2, "string")]),
    ("ModelReadyResponse", [("ready", 1, "bool")]),
    ("ServerMetadataRequest", []),
    ("ServerMetadataResponse", [("name", 1, "string"), ("version", 2, "string"),
                                ("extensions", 3, "repeated string")]),
    ("ModelMetadataRequest", [("name", 1, "string"), ("version", 2, "string")]),
    ("ModelMetadataResponse.TensorMetadata", [
        ("name", 1, "string"), ("datatype", 2, "string"),
        ("shape", 3, "repeated int64")]),
    ("ModelMetadataResponse", [
        ("name", 1, "string"), ("versions", 2, "repeated string"),
        ("platform", 3, "string"),
        ("inputs", 4, "repeated ModelMetadataResponse.TensorMetadata"),
        ("outputs", 5, "repeated ModelMetadataResponse.TensorMetadata")]),
    ("ModelInferRequest.InferInputTensor", [
        ("name", 1, "string"), ("datatype", 2, "string"),
        ("shape", 3, "repeated int64"),
        ("parameters", 4, "map<string,InferParameter>"),
        ("contents", 5, "InferTensorContents")]),
    ("ModelInferRequest.InferRequestedOutputTensor", [
        ("name", 1, "string"), ("parameters", 2, "map<string,InferParameter>")]),
    ("ModelInferRequest", [
        ("model_name", 1, "string"), ("model_version", 2, "string"),
        ("id", 3, "string"), ("parameters", 4, "map<string,InferParameter>"),
        ("inputs", 5, "repeated ModelInferRequest.InferInputTensor"),
        ("outputs", 6, "repeated ModelInferRequest.InferRequestedOutputTensor"),
        ("raw_input_contents", 7, "repeated bytes")]),
    ("ModelInferResponse.InferOutputTensor", [
        ("name", 1, "string"), ("datatype", 2, "string"),
        ("shape", 3, "repeated int64"),
        ("parameters", 4, "map<string,InferParameter>"),
        ("contents", 5, "InferTensorContents")]),
    ("ModelInferResponse", [
        ("model_name", 1, "string"), ("model_version", 2, "string"),
        ("id", 3, "string"), ("parameters", 4, "map<string,InferParameter>"),
        ("outputs", 5, "repeated ModelInferResponse.InferOutputTensor"),
        ("raw_output_contents", 6, "repeated bytes")]),
    ("InferParameter", [
        ("bool_param", 1, "oneof parameter_choice: bool"),
        ("int64_param", 2, "oneof parameter_choice: int64"),
        ("string_param", 3, "oneof parameter_choice: string"),
        ("double_param", 4, "oneof parameter_choice: double"),
        ("uint64_param", 5, "oneof parameter_choice: uint64")]),
    ("InferTensorContents", [
        ("bool_contents", 1, "repeated bool"),
        ("int_contents", 2, "repeated int32"),
        ("int64_contents", 3, "repeated int64"),
        ("uint_contents", 4, "repeated uint32"),
        ("uint64_contents", 5, "repeated uint64"),
        ("fp32_contents", 6, "repeated float"),
        ("fp64_contents", 7, "repeated double"),
        ("bytes_contents", 8, "repeated bytes")]),
]

RPCS = [(name, name + "Request", name + "Response") for name in (
    "ServerLive", "ServerReady", "ModelReady", "ServerMetadata",
    "ModelMetadata", "ModelInfer")]

_F = descriptor_pb2.FieldDescriptorProto
_SCALARS = {
    "bool": _F.TYPE_BOOL, "int32": _F.TYPE_INT32, "int64": _F.TYPE_INT64,
    "uint32": _F.TYPE_UINT32, "uint64": _F.TYPE_UINT64,
    "float": _F.TYPE_FLOAT, "double": _F.TYPE_DOUBLE,
    "string": _F.TYPE_STRING, "bytes": _F.TYPE_BYTES,
}


def _set_type(field, type_name):
    if type_name in _SCALARS:
        field.type = _SCALARS[type_name]
    else:
        field.type = _F.TYPE_MESSAGE
        field.type_name = "." + PACKAGE + "." + type_name


def _file_descriptor():
    """The specification's interface as a FileDescriptorProto."""
    fd = descriptor_pb2.FileDescriptorProto(
        name="oip_spec/grpc_predict_v2.proto", package=PACKAGE, syntax="proto3")
    messages = {}
    # Outer messages before the ones nested in them.
    for full, fields in sorted(MESSAGES, key=lambda m: m[0].count(".")):
        parent, _, name = full.rpartition(".")
        owner = messages[parent].nested_type if parent else fd.message_type
        message = owner.add(name=name)
        messages[full] = message
        for field_name, number, kind in fields:
            field = message.field.add(name=field_name, number=number,
                                      json_name=_json_name(field_name))
            field.label = _F.LABEL_OPTIONAL
            if kind.startswith("repeated "):
                field.label = _F.LABEL_REPEATED
                _set_type(field, kind[len("repeated "):])
            elif kind.startswith("map<string,"):
                value = kind[len("map<string,"):-1]
                entry_name = "".join(p.capitalize() for p in field_name.split("_")) + "Entry"
                entry = message.nested_type.add(name=entry_name)
                entry.options.map_entry = True
                key_field = entry.field.add(name="key", number=1, json_name="key",
                                            label=_F.LABEL_OPTIONAL)
                _set_type(key_field, "string")
                value_field = entry.field.add(name="value", number=2,
                                              json_name="value",
                                              label=_F.LABEL_OPTIONAL)
                _set_type(value_field, value)
                field.label = _F.LABEL_REPEATED
                _set_type(field, full + "." + entry_name)
            elif kind.startswith("oneof "):
                oneof, _, type_name = kind[len("oneof "):].partition(": ")
                names = [o.name for o in message.oneof_decl]
                if oneof not in names:
                    message.oneof_decl.add(name=oneof)
                    names.append(oneof)
                field.oneof_index = names.index(oneof)
                _set_type(field, type_name)
            else:
                _set_type(field, kind)
    service = fd.service.add(name=SERVICE)
    for rpc, request, response in RPCS:
        service.method.add(name=rpc, input_type="." + PACKAGE + "." + request,
                           output_type="." + PACKAGE + "." + response)
    return fd


def _json_name(name):
    head, *rest = name.split("_")
    return head + "".join(p.capitalize() for p in rest)


class Spec:
    """Message classes (own descriptor pool) and a client for one channel."""

    def __init__(self):
        self.pool = descriptor_pool.DescriptorPool()
        self.file = self.pool.Add(_file_descriptor())
        factory = message_factory.MessageFactory(self.pool)
        self.messages = {}
        for full, _ in MESSAGES:
            descriptor = self.pool.FindMessageTypeByName(PACKAGE + "." + full)
            self.messages[full] = factory.GetPrototype(descriptor)

    def __getattr__(self, name):
        try:
            return self.__dict__["messages"][name]
        except KeyError:
            raise AttributeError(name) from None

    def stub(self, channel):
        """{rpc name: callable(request, timeout=...)} on the channel."""
        calls = {}
        for rpc, request, response in RPCS:
            calls[rpc] = channel.unary_unary(
                "/%s.%s/%s" % (PACKAGE, SERVICE, rpc),
                request_serializer=self.messages[request].SerializeToString,
                response_deserializer=self.messages[response].FromString)
        return calls


def field_facts(message_descriptor):
    """[(field, number, type, label, message type)] of a descriptor, sorted."""
    facts = []
    for f in message_descriptor.fields:
        facts.append((f.name, f.number, f.type, f.label,
                      f.message_type.full_name if f.message_type else "",
                      f.containing_oneof.name if f.containing_oneof else ""))
    return sorted(facts)
