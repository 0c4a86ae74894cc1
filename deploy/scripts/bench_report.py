#!/usr/bin/env python3
"""Renders BENCHMARKS.md from what deploy/scripts/bench.sh measured.

Usage: bench_report.py WORK_DIR OUT.md

Reads WORK_DIR/machine.env, inprocess_<model>.jsonl (lineserve-bench --json),
served.jsonl, health.jsonl and poisson.jsonl (lineserve-cli perf --json),
server.log (the batch sizes the server chose), queue_delays and,
when present, train_<allocator>.{time,log}. Every target is checked against
figures of this one run and reported as met or not met; nothing is assumed.
"""
import json
import os
import re
import sys

MODELS = ("quality_inspection", "efficiency_prediction")


def read_jsonl(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def verdict(ok):
    return "met" if ok else "**not met**"


class Report:
    def __init__(self, work):
        self.work = work
        self.lines = []
        self.checks = []  # (target, figure, ok)
        with open(os.path.join(work, "machine.env")) as f:
            self.machine = dict(l.rstrip("\n").split("=", 1) for l in f if "=" in l)
        self.inprocess = {m: read_jsonl(os.path.join(work, f"inprocess_{m.split('_')[0]}.jsonl"))
                          for m in MODELS}
        self.served = read_jsonl(os.path.join(work, "served.jsonl"))
        self.served_rows = read_jsonl(os.path.join(work, "served_rows.jsonl"))
        self.poisson = read_jsonl(os.path.join(work, "poisson.jsonl"))
        self.health = read_jsonl(os.path.join(work, "health.jsonl"))
        with open(os.path.join(work, "queue_delays")) as f:
            delays = [int(x) for x in f.read().split()]
        # Both models' configs; the larger delay is the conservative bound.
        self.delay_us = max(delays) if delays else 0

    def out(self, text=""):
        self.lines.append(text)

    def check(self, target, figure, ok):
        self.checks.append((target, figure, ok))

    def steps(self, model, mode):
        name = f"{model}_batching_{mode}"
        return {s["concurrency"]: s for s in self.served if s["model"] == name}

    def best_inprocess(self, model):
        rows = self.inprocess[model]
        return max(rows, key=lambda r: r["samples_per_second"]) if rows else None

    def machine_section(self):
        m = self.machine
        self.out("## Machine")
        self.out()
        self.out(f"{m.get('cores')} cores ({m.get('cpu')}), {m.get('memory')}, "
                 f"{m.get('os')}, kernel {m.get('kernel')}; LibTorch {m.get('libtorch')}, "
                 f"gRPC {m.get('grpc')}; commit {m.get('commit')}, {m.get('date')}.")
        self.out()

    def inprocess_section(self):
        self.out("## In-process limit (`lineserve-bench`)")
        self.out()
        self.out("The model loaded as the server loads it; on one thread (LibTorch's "
                 "intra-op threads inside the forward pass): decode and preprocess each "
                 "sample, stack, one forward pass. Medians; *first* is the first forward "
                 "pass at that size (TorchScript re-optimises for a new shape).")
        self.out()
        for model in MODELS:
            rows = self.inprocess[model]
            if not rows:
                continue
            best = self.best_inprocess(model)
            self.out(f"**{model}** ({rows[0]['device']}): best batch size "
                     f"{best['batch_size']}, {best['samples_per_second']:.0f} samples/s.")
            self.out()
            self.out("| batch | preprocess us | stack us | forward us | first forward us "
                     "| per sample us | samples/s |")
            self.out("|---:|---:|---:|---:|---:|---:|---:|")
            for r in rows:
                mark = " (best)" if r["best"] else ""
                self.out(f"| {r['batch_size']}{mark} | {r['preprocess_us']:.0f} | "
                         f"{r['stack_us']:.0f} | {r['compute_us']:.0f} | "
                         f"{r['first_compute_us']:.0f} | {r['per_sample_us']:.1f} | "
                         f"{r['samples_per_second']:.0f} |")
            self.out()

    def tuned_batch_sizes(self):
        """{model: (configured, chosen, per-sample text)} from the server's log."""
        path = os.path.join(self.work, "server.log")
        if not os.path.exists(path):
            return {}
        found = re.compile(r'batch size tuned model=(\S+) version=\d+ '
                           r'configured_max_batch_size=(\d+) max_batch_size=(\d+) '
                           r'per_sample="([^"]*)"')
        tuned = {}
        with open(path) as f:
            for line in f:
                m = found.search(line)
                if m:
                    tuned[m.group(1)] = (int(m.group(2)), int(m.group(3)), m.group(4))
        return tuned

    def served_section(self):
        delay_ms = self.delay_us / 1000
        self.out("## Served: dynamic batching on and off (`lineserve-cli perf`, closed loop)")
        self.out()
        self.out("One server, each model twice: as trained (batching on, "
                 f"max_queue_delay {delay_ms:g} ms at most) and one request per forward "
                 "pass (off). Each client keeps one call in flight; windows repeat until "
                 "the last three agree within 10% (at most six); the figures are over "
                 "the last three. Latency in ms; queue and compute as the server reports "
                 "them (ServerTiming), overhead = mean latency - queue - compute.")
        self.out()
        tuned = self.tuned_batch_sizes()
        if tuned:
            self.out("Batching on forms batches no larger than the size the server chose "
                     "when the model loaded (`--tune-batch-size`: the smallest within 10% "
                     "of the fastest time per sample, measured then):")
            self.out()
            for name, (configured, chosen, per_sample) in sorted(tuned.items()):
                self.out(f"- {name}: {chosen} of max_batch_size {configured} "
                         f"(per sample at each size: {per_sample})")
            self.out()
        for model in MODELS:
            on, off = self.steps(model, "on"), self.steps(model, "off")
            if not on or not off:
                continue
            self.out(f"**{model}**")
            self.out()
            self.out("| clients | on req/s | off req/s | on/off | on p50 | on p95 | "
                     "off p95 | on p99 | batch | queue us | compute us | overhead us | "
                     "stable on/off |")
            self.out("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|")
            for c in sorted(on):
                a, b = on[c], off.get(c)
                if b is None:
                    continue
                ratio = a["throughput_rps"] / b["throughput_rps"] if b["throughput_rps"] else 0
                self.out(
                    f"| {c} | {a['throughput_rps']:.1f} | {b['throughput_rps']:.1f} | "
                    f"{ratio:.2f} | {a['latency_ms_p50']:.2f} | {a['latency_ms_p95']:.2f} | "
                    f"{b['latency_ms_p95']:.2f} | {a['latency_ms_p99']:.2f} | "
                    f"{a['mean_batch_size']:.2f} | {a['mean_queue_us']:.0f} | "
                    f"{a['mean_compute_us']:.0f} | {a['mean_client_overhead_us']:.0f} | "
                    f"{'yes' if a['stable'] else 'no'}/{'yes' if b['stable'] else 'no'} |")
                who = f"{c} client" + ("s" if c > 1 else "")
                self.check(f"{model}, {who}: throughput on >= off",
                           f"{ratio:.2f}x", ratio >= 1.0)
                bound = b["latency_ms_p95"] + delay_ms
                self.check(f"{model}, {who}: p95 on <= p95 off + delay",
                           f"{a['latency_ms_p95']:.2f} <= {bound:.2f} ms",
                           a["latency_ms_p95"] <= bound)
                if c == 1:
                    lat = a["latency_ms_mean"] / b["latency_ms_mean"]
                    self.check(f"{model}, 1 client: mean latency on/off <= 1.05",
                               f"{lat:.3f}", lat <= 1.05)
            failures = sum(s["failures"] for s in list(on.values()) + list(off.values()))
            self.check(f"{model}: no failed calls", str(failures), failures == 0)
            best = max(on.values(), key=lambda s: s["throughput_rps"])
            limit = self.best_inprocess(model)
            if limit:
                share = best["throughput_rps"] / limit["samples_per_second"]
                self.out()
                self.out(f"Best served: {best['throughput_rps']:.1f} req/s at "
                         f"{best['concurrency']} clients = {100 * share:.0f}% of the "
                         f"in-process limit ({limit['samples_per_second']:.0f} samples/s "
                         f"at batch {limit['batch_size']}).")
                if model == "quality_inspection":
                    self.check(f"{model}: served best >= 90% of the in-process limit",
                               f"{100 * share:.0f}%", share >= 0.9)
            self.out()

    def rows_section(self):
        limit = self.best_inprocess("efficiency_prediction")
        if not self.served_rows or not limit:
            return
        per_call = self.served_rows[0]["rows_per_request"]
        self.out(f"## Predict with {per_call} rows per call")
        self.out()
        self.out("One row per call measures the RPC, not the model: the model's limit "
                 "is reached when calls carry the rows the in-process sweep batches best. "
                 f"In-process limit: {limit['samples_per_second']:.0f} rows/s at batch "
                 f"{limit['batch_size']}.")
        self.out()
        self.out("| clients | calls/s | rows/s | share of limit | p50 | p95 | p99 | compute us |")
        self.out("|---:|---:|---:|---:|---:|---:|---:|---:|")
        for s in self.served_rows:
            rows = s["throughput_rps"] * per_call
            self.out(f"| {s['concurrency']} | {s['throughput_rps']:.1f} | {rows:.0f} | "
                     f"{100 * rows / limit['samples_per_second']:.0f}% | "
                     f"{s['latency_ms_p50']:.2f} | {s['latency_ms_p95']:.2f} | "
                     f"{s['latency_ms_p99']:.2f} | {s['mean_compute_us']:.0f} |")
        failures = sum(s["failures"] for s in self.served_rows)
        self.check(f"efficiency_prediction, {per_call} rows per call: no failed calls",
                   str(failures), failures == 0)
        best = max(s["throughput_rps"] * per_call for s in self.served_rows)
        share = best / limit["samples_per_second"]
        self.out()
        self.check(f"efficiency_prediction: served best ({per_call} rows per call) >= 90% "
                   "of the in-process limit", f"{100 * share:.0f}%", share >= 0.9)

    def overhead_section(self):
        on = self.steps("efficiency_prediction", "on")
        rows = self.inprocess["efficiency_prediction"]
        one = next((r for r in rows if r["batch_size"] == 1), None)
        if 1 not in on or one is None:
            return
        inproc_us = one["preprocess_us"] + one["stack_us"] + one["compute_us"]
        served_us = on[1]["latency_ms_mean"] * 1000
        overhead = served_us - inproc_us
        top = on[max(on)]
        self.out("## Predict: the server's overhead per request")
        self.out()
        self.out(f"At 1 client a Predict of one row takes {served_us:.0f} us served "
                 f"(mean) against {inproc_us:.0f} us in process (encode, stack, forward "
                 f"at batch 1): {overhead:.0f} us of gRPC, protobuf, queueing and "
                 f"scheduling. At {max(on)} clients: {top['throughput_rps']:.0f} req/s, "
                 f"p99 {top['latency_ms_p99']:.2f} ms.")
        if self.health:
            floor_us = self.health[0]["latency_ms_mean"] * 1000
            self.out()
            self.out(f"The floor under it: a grpc.health.v1 Check (`lineserve-cli perf "
                     f"--health`: the same client and channel, no model, no queue) takes "
                     f"{floor_us:.0f} us at 1 client, so {overhead - floor_us:.0f} us of "
                     f"the overhead is the Predict path's own (request and response "
                     f"messages, the queue hand-off, the worker's wake-up).")
        self.out()
        self.check("Predict overhead at 1 client <= 150 us", f"{overhead:.0f} us",
                   overhead <= 150)

    def poisson_section(self):
        if not self.poisson:
            return
        delay_ms = self.delay_us / 1000
        self.out("## Poisson arrivals at 70% of the best throughput (open loop)")
        self.out()
        self.out("Latency counts from each call's scheduled send time. Bound: the queue "
                 "delay plus three forward passes of the largest batch the model can "
                 "form (its max_batch_size, timed in process).")
        self.out()
        self.out("| model | rate/s | achieved/s | p50 | p95 | p99 | bound | batch | late | stable |")
        self.out("|---|---:|---:|---:|---:|---:|---:|---:|---:|:---:|")
        for s in self.poisson:
            model = s["model"].replace("_batching_on", "")
            rows = self.inprocess.get(model) or []
            if not rows:
                continue
            largest = max(rows, key=lambda r: r["batch_size"])
            bound = delay_ms + 3 * largest["compute_us"] / 1000
            self.out(f"| {model} | {s['request_rate']:.1f} | {s['achieved_rate_rps']:.1f} | "
                     f"{s['latency_ms_p50']:.2f} | {s['latency_ms_p95']:.2f} | "
                     f"{s['latency_ms_p99']:.2f} | {bound:.2f} | {s['mean_batch_size']:.2f} | "
                     f"{s['delayed_requests']} | {'yes' if s['stable'] else 'no'} |")
            self.check(f"{model}, Poisson at 70%: p99 <= delay + 3 x forward(batch "
                       f"{largest['batch_size']})",
                       f"{s['latency_ms_p99']:.2f} <= {bound:.2f} ms",
                       s["latency_ms_p99"] <= bound)
        self.out()

    def trainer_section(self):
        runs = {}
        for alloc in ("glibc", "mimalloc"):
            path = os.path.join(self.work, f"train_{alloc}.time")
            if not os.path.exists(path):
                return
            with open(path) as f:
                wall, user, sys_ = (float(x) for x in f.read().split())
            validation = ""
            with open(os.path.join(self.work, f"train_{alloc}.log")) as f:
                for line in f:
                    if line.startswith("validation"):
                        validation = line.strip()
            runs[alloc] = (wall, user, sys_, validation)
        self.out("## Trainer: glibc malloc against mimalloc")
        self.out()
        self.out("The quality trainer's default configuration on the demo tiles for a "
                 "few epochs (`lineserve-train quality --data var/data/tiles/images "
                 "--seed 7 --epochs N`), as built (mimalloc with its arena) and with "
                 "glibc's libc.so.6 preloaded so that its malloc wins. Seconds; sys "
                 "share = sys / (user + sys).")
        self.out()
        self.out("| malloc | wall | user | sys | sys share | validation |")
        self.out("|---|---:|---:|---:|---:|---|")
        for alloc, (wall, user, sys_, validation) in runs.items():
            share = sys_ / (user + sys_) if user + sys_ else 0
            self.out(f"| {alloc} | {wall:.1f} | {user:.1f} | {sys_:.1f} | "
                     f"{100 * share:.0f}% | {validation} |")
        self.out()
        g, m = runs["glibc"], runs["mimalloc"]
        self.out(f"Wall time glibc / mimalloc: {g[0] / m[0]:.2f}x.")
        self.out()
        self.check("trainer: same validation figures on both allocators",
                   "identical" if g[3] == m[3] else "differ", g[3] == m[3])

    def render(self):
        self.out("# lineserve benchmarks")
        self.out()
        self.out("Written by `deploy/scripts/bench.sh` (one run, loopback, no timing "
                 "asserted anywhere else); rerun it to refresh every figure. The "
                 "machine is shared and noisy: compare ratios within this run.")
        self.out()
        self.machine_section()
        self.inprocess_section()
        self.served_section()
        self.rows_section()
        self.overhead_section()
        self.poisson_section()
        self.trainer_section()
        body = self.lines
        self.lines = []
        met = sum(1 for c in self.checks if c[2])
        self.out("## Targets")
        self.out()
        self.out(f"{met} of {len(self.checks)} met in this run.")
        self.out()
        self.out("| target | this run | |")
        self.out("|---|---|---|")
        for target, figure, ok in self.checks:
            self.out(f"| {target} | {figure} | {verdict(ok)} |")
        self.out()
        targets = self.lines
        # The targets right after the introduction and machine.
        intro = body[:body.index("## In-process limit (`lineserve-bench`)")] \
            if "## In-process limit (`lineserve-bench`)" in body else body
        rest = body[len(intro):]
        return "\n".join(intro + targets + rest).rstrip() + "\n"


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: bench_report.py WORK_DIR OUT.md")
    text = Report(sys.argv[1]).render()
    with open(sys.argv[2], "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
