"""Open Inference Protocol stubs, generated from proto/inference when the package is built."""
