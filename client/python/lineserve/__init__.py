"""A Python client for lineserve.

    import lineserve
    with lineserve.Client("127.0.0.1:8500") as client:
        answer = client.inspect("part.png")          # lineserve.v1.InspectResponse
        print(answer.verdict == lineserve.OK, answer.defect_class)
        print(client.predict([{"team": 3, "smv": 26.2, ...}]))  # [efficiency, ...]

Client.quality, .efficiency, .models and .oip are the generated stubs for
the domain API, model control and the Open Inference Protocol
(inference.GRPCInferenceService) for anything the helpers do not cover.
"""

from lineserve.client import (DEFECT, OK, Client, LineserveError, read_rows)

__all__ = ["Client", "LineserveError", "read_rows", "OK", "DEFECT"]
__version__ = "0.4.0"
