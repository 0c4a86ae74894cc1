"""A Python client for lineserve.

    import lineserve
    with lineserve.Client("127.0.0.1:8500") as client:
        answer = client.inspect("part.png")          # lineserve.v1.InspectResponse
        print(answer.verdict == lineserve.OK, answer.defect_class)
        print(client.predict([{"team": 3, "smv": 26.2, ...}]))  # [efficiency, ...]

A server started with --tls-cert: Client(target, tls_ca="ca.pem"), plus
tls_cert= and tls_key= when it requires mutual TLS (--tls-client-ca).

Client.quality, .efficiency, .models and .oip are the generated stubs for
the domain API, model control and the Open Inference Protocol
(inference.GRPCInferenceService) for anything the helpers do not cover.
"""

from lineserve.client import (DEFECT, OK, Client, LineserveError, read_rows,
                              tls_credentials)

__all__ = ["Client", "LineserveError", "read_rows", "tls_credentials", "OK",
           "DEFECT"]
__version__ = "0.4.0"
