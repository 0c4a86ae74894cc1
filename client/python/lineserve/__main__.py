"""lineserve-py: inspect images and predict CSV rows from the command line.

    lineserve-py --server 127.0.0.1:8500 inspect part1.png part2.jpg
    lineserve-py --server 127.0.0.1:8500 predict rows.csv
    lineserve-py --server 127.0.0.1:8500 ready [MODEL]
    lineserve-py --server line7:8500 --tls-ca ca.pem --tls-cert c.pem --tls-key c.key ready
"""

import argparse
import sys

import lineserve


def main(argv=None):
    parser = argparse.ArgumentParser(prog="lineserve-py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", default="127.0.0.1:8500")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds")
    tls = parser.add_argument_group(
        "TLS", "for a server started with --tls-cert (any of these turns TLS on)")
    tls.add_argument("--tls", action="store_true",
                     help="TLS, trusting the system's CAs")
    tls.add_argument("--tls-ca", help="PEM file of the CA that signed the server's certificate")
    tls.add_argument("--tls-cert", help="PEM client certificate, for mutual TLS (with --tls-key)")
    tls.add_argument("--tls-key", help="PEM private key of --tls-cert")
    tls.add_argument("--tls-server-name",
                     help="name the server's certificate holds, when --server's host differs")
    commands = parser.add_subparsers(dest="command", required=True)
    inspect = commands.add_parser("inspect", help="one line per image")
    inspect.add_argument("images", nargs="+")
    predict = commands.add_parser("predict", help="one efficiency per CSV row")
    predict.add_argument("csv")
    predict.add_argument("--delimiter", default=",")
    ready = commands.add_parser("ready", help="exit 0 when ready")
    ready.add_argument("model", nargs="?")
    args = parser.parse_args(argv)
    if (args.tls_cert is None) != (args.tls_key is None):
        parser.error("--tls-cert and --tls-key go together")
    try:
        client = lineserve.Client(args.server, timeout=args.timeout, tls=args.tls,
                                  tls_ca=args.tls_ca, tls_cert=args.tls_cert,
                                  tls_key=args.tls_key,
                                  tls_server_name=args.tls_server_name)
    except OSError as e:
        print("lineserve-py: cannot read a TLS file: %s" % e, file=sys.stderr)
        return 2

    with client:
        try:
            if args.command == "inspect":
                for path in args.images:
                    a = client.inspect(path)
                    verdict = "DEFECT " + a.defect_class if a.verdict == lineserve.DEFECT else "OK"
                    print("%s -> %s (p(defect)=%.3f)" % (path, verdict, a.defect_probability))
            elif args.command == "predict":
                rows = lineserve.read_rows(args.csv, args.delimiter)
                for i, efficiency in enumerate(client.predict(rows), start=1):
                    print("row %d: %.4f" % (i, efficiency))
            else:
                ok = client.ready(args.model)
                print("ready" if ok else "not ready")
                return 0 if ok else 1
        except lineserve.LineserveError as e:
            print("lineserve-py: server answered %s" % e, file=sys.stderr)
            return 1
        except OSError as e:
            print("lineserve-py: local error: %s" % e, file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
