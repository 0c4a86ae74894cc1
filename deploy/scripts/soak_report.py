#!/usr/bin/env python3
"""Judges and reports what deploy/scripts/soak.sh recorded.

Usage: soak_report.py WORK_DIR OUT.md

Reads WORK_DIR/run.env, samples.csv (time, phase, rss_kb, threads, fds),
peak.jsonl, inspect.jsonl and predict.jsonl (lineserve-cli perf --json, one
object per phase), their .rc files (perf's exit status per phase) and
metrics_before.txt / metrics_after.txt (lineserve_requests_total lines).
Writes OUT.md, prints the verdict and exits 1 when a rule of soak.sh's
header is broken (the thresholds are the constants below).
"""
import json
import os
import re
import statistics
import sys

REFUSED = "RESOURCE_EXHAUSTED"  # a full queue refusing: by design
RSS_GROWTH_FRACTION = 0.05
RSS_GROWTH_MIN_KB = 16 * 1024
THREAD_SLACK = 4
FD_SLACK = 8
APIS = (("inspect", "Inspect"), ("predict", "Predict"))


def read_env(path):
    with open(path) as f:
        return dict(l.rstrip("\n").split("=", 1) for l in f if "=" in l)


def read_jsonl(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip()]


def read_lines(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [l.strip() for l in f if l.strip()]


def read_samples(path):
    samples = []
    with open(path) as f:
        next(f)
        for line in f:
            parts = line.strip().split(",")
            if len(parts) != 5 or not all(parts):
                continue  # the process went away mid-sample
            samples.append({"time": float(parts[0]), "phase": parts[1],
                            "rss_kb": int(parts[2]), "threads": int(parts[3]),
                            "fds": int(parts[4])})
    return samples


METRIC_LINE = re.compile(r'^lineserve_requests_total\{(.*)\} ([0-9.e+]+)$')


def read_counters(path):
    """{(method, code): count} from lineserve_requests_total lines."""
    counts = {}
    for line in read_lines(path):
        m = METRIC_LINE.match(line)
        if not m:
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
        key = (labels.get("method", ""), labels.get("code", ""))
        counts[key] = counts.get(key, 0) + float(m.group(2))
    return counts


def client_counts(phases):
    """Every reported window of every phase: sent, ok, refused, failed."""
    c = {"sent": 0, "ok": 0, "refused": 0, "failed": 0, "codes": {},
         "late": 0, "seconds": 0.0, "phases": len(phases)}
    for p in phases:
        c["ok"] += p["requests"]
        c["sent"] += p["requests"] + p["failures"]
        c["late"] += p["delayed_requests"]
        c["seconds"] += p["seconds"]
        for e in p["errors"]:
            code = e["code"]
            c["codes"].setdefault(code, [0, e["message"]])[0] += e["count"]
            c["refused" if code == REFUSED else "failed"] += e["count"]
    return c


def mib(kb):
    return f"{kb / 1024:.1f}"


class Report:
    def __init__(self, work):
        self.work = work
        self.env = read_env(os.path.join(work, "run.env"))
        self.failures = []
        self.lines = []

    def out(self, text=""):
        self.lines.append(text)

    def fail(self, why):
        self.failures.append(why)

    def requests(self):
        e = self.env
        before = read_counters(os.path.join(self.work, "metrics_before.txt"))
        after = read_counters(os.path.join(self.work, "metrics_after.txt"))
        if not after:
            self.fail("no lineserve_requests_total after the soak (metrics scrape failed)")
        delta = {k: v - before.get(k, 0) for k, v in after.items()}
        self.out("## Requests during the soak")
        self.out()
        self.out(f"Inspect at {e['inspect_rate']}/s ({e['load_percent']}% of the peak), "
                 f"Predict at {e['predict_rate']}/s; Poisson arrivals; consecutive "
                 f"open-loop phases of up to three {e['window_seconds']} s windows, "
                 "each a new client process. *Client*: every window of every phase "
                 "(calls still in flight when a phase ends are not in its windows). "
                 "*Server*: `lineserve_requests_total` on /metrics, after minus "
                 "before the soak. Refused = RESOURCE_EXHAUSTED (a full queue, by "
                 "design); failed = any other status.")
        self.out()
        self.out("| API | seen by | phases | sent | answered OK | refused | failed | "
                 "sent/s (asked) | late sends |")
        self.out("|---|---|---:|---:|---:|---:|---:|---:|---:|")
        notes = []
        totals = {"client": [0, 0, 0, 0], "server": [0, 0, 0, 0]}
        for name, method in APIS:
            phases = read_jsonl(os.path.join(self.work, f"{name}.jsonl"))
            rcs = read_lines(os.path.join(self.work, f"{name}.rc"))
            if name == "predict" and float(e["predict_rate"]) == 0:
                continue
            bad_rc = [rc for rc in rcs if rc not in ("0", "1")]
            if bad_rc or len(phases) != len(rcs):
                self.fail(f"{method}: lineserve-cli perf did not run every phase "
                          f"(exit statuses {', '.join(rcs)}; {len(phases)} reports)")
            c = client_counts(phases)
            asked = float(e[f"{name}_rate"])
            achieved = c["sent"] / c["seconds"] if c["seconds"] else 0
            if achieved < 0.9 * asked:
                notes.append(
                    f"{method} was sent at {achieved:.1f}/s of the {asked:g}/s asked "
                    f"({c['late'] / max(c['sent'], 1):.0%} of its calls left more than "
                    "1 ms late): the client's workers were all busy (or it was short "
                    "of CPU). Usually the server's capacity during the soak was below "
                    "the peak measured just before it (other work on the machine took "
                    "its share; compare the batch and compute figures in "
                    f"{name}.jsonl), so the server ran saturated rather than at the "
                    "load asked: a harder soak, not a failure.")
            if c["ok"] == 0:
                self.fail(f"{method}: no call answered during the soak")
            for code, (count, message) in sorted(c["codes"].items()):
                if code != REFUSED:
                    self.fail(f"{method}: {count} calls failed with {code} "
                              f"(client), first: {message}")
            s_codes = {code: n for (m, code), n in delta.items() if m == method}
            s = {"sent": sum(s_codes.values()), "ok": s_codes.get("OK", 0),
                 "refused": s_codes.get(REFUSED, 0)}
            s["failed"] = s["sent"] - s["ok"] - s["refused"]
            for code, n in sorted(s_codes.items()):
                if code not in ("OK", REFUSED) and n > 0:
                    self.fail(f"{method}: {n:.0f} calls answered {code} (server)")
            for who, figures in (("client", c), ("server", s)):
                row = [figures[k] for k in ("sent", "ok", "refused", "failed")]
                totals[who] = [a + b for a, b in zip(totals[who], row)]
                client = who == "client"
                self.out(f"| {method} | {who} | {c['phases'] if client else ''} | "
                         + " | ".join(f"{v:.0f}" for v in row)
                         + (f" | {achieved:.1f} ({asked:g}) | {c['late']} |" if client
                            else " | | |"))
        for who, row in totals.items():
            self.out(f"| **all** | {who} | | "
                     + " | ".join(f"**{v:.0f}**" for v in row) + " | | |")
        self.out()
        for note in notes:
            self.out(f"Note: {note}")
            self.out()

    def window(self, samples, start, end):
        return [s for s in samples if start <= s["time"] <= end]

    def resources(self):
        e = self.env
        samples = read_samples(os.path.join(self.work, "samples.csv"))
        start, end = float(e["soak_start"]), float(e["soak_end"])
        warmup, compare = float(e["warmup_seconds"]), float(e["compare_seconds"])
        soak = self.window(samples, start, end)
        first = self.window(samples, start, start + compare)
        base = self.window(samples, start + warmup, start + warmup + compare)
        last = self.window(samples, end - compare, end)
        self.out("## Resident memory, threads and file descriptors")
        self.out()
        self.out(f"The server process sampled every {e['sample_seconds']} s from "
                 "/proc/PID (VmRSS, Threads, entries of fd/); the curve is "
                 "`samples.csv` in the work folder. Windows: *first* = the first "
                 f"{compare:.0f} s of the soak, *baseline* = {compare:.0f} s after "
                 f"a {warmup:.0f} s warm-up, *last* = the last {compare:.0f} s "
                 f"(of {end - start:.0f} s under load).")
        self.out()
        if len(base) < 2 or len(last) < 2:
            self.fail(f"too few samples to judge growth ({len(base)} in the baseline "
                      f"window, {len(last)} in the last)")
            return
        rss = lambda w: [s["rss_kb"] for s in w]
        med = lambda w, k: statistics.median(s[k] for s in w)
        self.out("| | first | baseline | last | min | max | growth allowed | |")
        self.out("|---|---:|---:|---:|---:|---:|---:|---|")
        base_rss, last_rss = statistics.mean(rss(base)), statistics.mean(rss(last))
        limit = max(RSS_GROWTH_FRACTION * base_rss, RSS_GROWTH_MIN_KB)
        ok = last_rss - base_rss <= limit
        if not ok:
            self.fail(f"RSS grew from {mib(base_rss)} MiB (baseline mean) to "
                      f"{mib(last_rss)} MiB (last mean), more than {mib(limit)} MiB")
        self.out(f"| RSS mean, MiB | {mib(statistics.mean(rss(first)))} | "
                 f"{mib(base_rss)} | {mib(last_rss)} | {mib(min(rss(soak)))} | "
                 f"{mib(max(rss(soak)))} | +{mib(limit)} | {'ok' if ok else '**grew**'} |")
        self.figures = {"rss": (statistics.mean(rss(first)), base_rss, last_rss,
                                min(rss(soak)), max(rss(soak)))}
        for key, label, slack in (("threads", "threads, median", THREAD_SLACK),
                                  ("fds", "open fds, median", FD_SLACK)):
            b, l = med(base, key), med(last, key)
            ok = l <= b + slack
            if not ok:
                self.fail(f"{key} grew from {b:g} (baseline median) to {l:g} "
                          f"(last median), more than {slack}")
            values = [s[key] for s in soak]
            self.out(f"| {label} | {med(first, key):g} | {b:g} | {l:g} | "
                     f"{min(values)} | {max(values)} | +{slack} | "
                     f"{'ok' if ok else '**grew**'} |")
            self.figures[key] = (med(first, key), b, l, min(values), max(values))
        drain = [s for s in samples if s["phase"] == "drain"]
        if drain:
            d = drain[-1]
            self.out()
            self.out(f"Idle after the load: RSS {mib(d['rss_kb'])} MiB, "
                     f"{d['threads']} threads, {d['fds']} fds.")
        self.out()

    def peak(self):
        steps = read_jsonl(os.path.join(self.work, "peak.jsonl"))
        self.out("## Peak (Inspect, closed loop)")
        self.out()
        self.out("| clients | req/s | p95 ms | failures |")
        self.out("|---:|---:|---:|---:|")
        for s in steps:
            self.out(f"| {s['concurrency']} | {s['throughput_rps']:.1f} | "
                     f"{s['latency_ms_p95']:.2f} | {s['failures']} |")
        self.out()

    def render(self, out_path):
        e = self.env
        self.requests()
        self.resources()
        if e.get("server_exit") != "0":
            self.fail(f"the server did not exit 0 after SIGTERM: {e.get('server_exit')}")
        body = self.lines
        self.lines = []
        self.out("# Soak")
        self.out()
        verdict = "**FAILED**" if self.failures else "passed"
        self.out(f"{verdict}: {e['soak_seconds']} s at {e['load_percent']}% of the "
                 f"Inspect peak on loopback, {e['date']}, commit {e['commit']}, "
                 f"{e['cores']} cores (shared: other work on the machine shows in "
                 "the figures).")
        self.out()
        for why in self.failures:
            self.out(f"- {why}")
        if self.failures:
            self.out()
        self.out("```")
        self.out(e["command"])
        self.out("```")
        self.out()
        self.out(f"Server `{e['server']}`, client `{e['cli']}`, models `{e['repo']}` "
                 f"(served from a copy), image `{e['image']}`, rows `{e['rows']}`. "
                 f"Server exit status after SIGTERM: {e.get('server_exit')}"
                 + (f" (in {e['shutdown_seconds']} s)." if "shutdown_seconds" in e
                    else "."))
        self.out()
        self.lines += body
        self.peak()
        self.out("## Rules")
        self.out()
        self.out("Failed calls (any status but OK and RESOURCE_EXHAUSTED, client or "
                 "server side): none allowed. Server exit after SIGTERM: 0. Growth, "
                 "last window against baseline: RSS mean at most "
                 f"max({RSS_GROWTH_FRACTION:.0%}, {RSS_GROWTH_MIN_KB // 1024} MiB), "
                 f"thread median at most +{THREAD_SLACK}, fd median at most "
                 f"+{FD_SLACK} (why: the header of deploy/scripts/soak.sh).")
        os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
        with open(out_path, "w") as f:
            f.write("\n".join(self.lines) + "\n")


def main():
    work, out_path = sys.argv[1], sys.argv[2]
    report = Report(work)
    report.render(out_path)
    print("\n".join(l for l in report.lines if l.startswith("|") or l.startswith("- ")))
    if report.failures:
        print(f"soak FAILED ({out_path}):")
        for why in report.failures:
            print(f"  {why}")
        return 1
    print(f"soak passed; wrote {out_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
