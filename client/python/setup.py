"""Builds the lineserve Python package: generates the gRPC stubs first.

The stubs come from the repository's own proto/ (two levels up) at build
time, so they never drift from the server. The generator is Debian's
python3-grpc-tools (grpc_tools.protoc) when importable, otherwise Debian's
protoc with grpc_python_plugin (protobuf-compiler-grpc).

The domain protos keep their paths (lineserve/v1/*.proto generate the
lineserve.v1 modules). The Open Inference Protocol file is compiled as
lineserve/inference/grpc_service.proto so its module lives inside this
package instead of a top-level `inference` package that other clients
(tritonclient, kserve) also use. grpc/health/v1 is not generated: grpcio
owns the `grpc` package; health goes through the OIP ready calls here.
"""

import os
import shutil
import subprocess
import sys
import tempfile

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))
PROTO_ROOT = os.path.normpath(os.path.join(HERE, "..", "..", "proto"))
# Source path under proto/ -> path the module is generated at.
PROTOS = {
    "lineserve/v1/common.proto": "lineserve/v1/common.proto",
    "lineserve/v1/model_config.proto": "lineserve/v1/model_config.proto",
    "lineserve/v1/quality_inspection.proto": "lineserve/v1/quality_inspection.proto",
    "lineserve/v1/efficiency_prediction.proto": "lineserve/v1/efficiency_prediction.proto",
    "lineserve/v1/model_service.proto": "lineserve/v1/model_service.proto",
    "inference/grpc_service.proto": "lineserve/inference/grpc_service.proto",
}


def _protoc_command():
    try:
        import grpc_tools.protoc  # noqa: F401  (python3-grpc-tools)

        return [sys.executable, "-m", "grpc_tools.protoc"]
    except ImportError:
        plugin = shutil.which("grpc_python_plugin")
        protoc = shutil.which("protoc")
        if not (plugin and protoc):
            sys.exit("lineserve: need python3-grpc-tools, or protoc and "
                     "grpc_python_plugin (protobuf-compiler-grpc)")
        return [protoc, "--plugin=protoc-gen-grpc_python=" + plugin]


def generate(out_dir):
    if not os.path.isdir(PROTO_ROOT):
        sys.exit("lineserve: " + PROTO_ROOT + " not found; build the package "
                 "from a lineserve checkout (pip install client/python)")
    with tempfile.TemporaryDirectory() as staging:
        for source, target in PROTOS.items():
            os.makedirs(os.path.join(staging, os.path.dirname(target)),
                        exist_ok=True)
            shutil.copyfile(os.path.join(PROTO_ROOT, source),
                            os.path.join(staging, target))
        command = _protoc_command() + [
            "-I", staging, "--python_out=" + out_dir,
            "--grpc_python_out=" + out_dir] + sorted(PROTOS.values())
        subprocess.run(command, check=True)


class BuildWithStubs(build_py):
    def run(self):
        super().run()
        generate(self.build_lib)


setup(cmdclass={"build_py": BuildWithStubs})
