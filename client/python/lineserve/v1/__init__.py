"""Stubs generated from proto/lineserve/v1 when the package is built."""
