"""The Python client against a server that requires mutual TLS, with
certificates made for the run (tests/support/make_test_certs.sh): the
client's tls_* arguments, tls_credentials() and lineserve-py's --tls-*
flags get answers with the trusted client certificate; no certificate, an
untrusted one, plaintext and a server name the certificate does not hold
are refused."""

import os
import subprocess
import sys
import unittest

import grpc

import lineserve

import common

TLS_TARGET = os.environ.get("LINESERVE_TLS_GRPC", "")
CERTS = os.environ.get("LINESERVE_TLS_CERTS", "")


def cert(name):
    return os.path.join(CERTS, name)


class TlsTest(unittest.TestCase):

    def setUp(self):
        if not TLS_TARGET or not CERTS:
            self.fail("LINESERVE_TLS_GRPC and LINESERVE_TLS_CERTS must be set "
                      "(tests/client/python_client_test.sh sets them)")
        self.image = common.images()[0][1]

    def inspect_with(self, **kwargs):
        with lineserve.Client(TLS_TARGET, timeout=10, **kwargs) as client:
            return client.inspect(self.image)

    def assert_refused(self, **kwargs):
        with self.assertRaises(lineserve.LineserveError) as caught:
            self.inspect_with(**kwargs)
        self.assertEqual(caught.exception.code, grpc.StatusCode.UNAVAILABLE)

    def test_mutual_tls_answers_a_trusted_client_certificate(self):
        answer = self.inspect_with(tls_ca=cert("ca.pem"), tls_cert=cert("client.pem"),
                                   tls_key=cert("client.key"))
        self.assertIn(answer.verdict, (lineserve.OK, lineserve.DEFECT))

    def test_tls_credentials_make_the_same_channel(self):
        credentials = lineserve.tls_credentials(cert("ca.pem"), cert("client.pem"),
                                                cert("client.key"))
        answer = self.inspect_with(credentials=credentials)
        self.assertIn(answer.verdict, (lineserve.OK, lineserve.DEFECT))

    def test_mutual_tls_refuses_a_client_without_certificate(self):
        self.assert_refused(tls_ca=cert("ca.pem"))

    def test_mutual_tls_refuses_an_untrusted_client_certificate(self):
        self.assert_refused(tls_ca=cert("ca.pem"), tls_cert=cert("rogue_client.pem"),
                            tls_key=cert("rogue_client.key"))

    def test_plaintext_is_refused(self):
        self.assert_refused()

    def test_the_server_name_is_checked_against_the_certificate(self):
        trusted = dict(tls_ca=cert("ca.pem"), tls_cert=cert("client.pem"),
                       tls_key=cert("client.key"))
        answer = self.inspect_with(tls_server_name="localhost", **trusted)
        self.assertIn(answer.verdict, (lineserve.OK, lineserve.DEFECT))
        self.assert_refused(tls_server_name="line7.example", **trusted)

    def test_a_certificate_needs_its_key(self):
        with self.assertRaises(ValueError):
            lineserve.Client(TLS_TARGET, tls_ca=cert("ca.pem"), tls_cert=cert("client.pem"))

    def test_the_command_line(self):
        def run(*args):
            return subprocess.run(
                [sys.executable, "-m", "lineserve", "--server", TLS_TARGET,
                 "--tls-ca", cert("ca.pem")] + list(args),
                capture_output=True, text=True, timeout=60)

        trusted = ["--tls-cert", cert("client.pem"), "--tls-key", cert("client.key")]
        done = run(*trusted, "ready", common.QUALITY)
        self.assertEqual(done.returncode, 0, done.stderr)
        done = run(*trusted, "inspect", common.images()[0][0])
        self.assertEqual(done.returncode, 0, done.stderr)
        refused = run("ready", common.QUALITY)
        self.assertEqual(refused.returncode, 1, refused.stderr)
        self.assertIn("UNAVAILABLE", refused.stderr)
        half = run("--tls-cert", cert("client.pem"), "ready")
        self.assertEqual(half.returncode, 2, half.stderr)
        missing = run("--tls-cert", cert("absent.pem"), "--tls-key", cert("client.key"),
                      "ready")
        self.assertEqual(missing.returncode, 2, missing.stderr)
        self.assertIn("absent.pem", missing.stderr)


if __name__ == "__main__":
    unittest.main()
