#!/usr/bin/env python3
"""Checks that the Grafana dashboard and the Prometheus rules only query
metrics the server really exports.

  check_metric_names.py --exposition FILE [--dashboard JSON]... [--rules YML]...

FILE is the text the server's GET /metrics returned. Every PromQL expression
in every dashboard panel, template variable and rule is parsed for metric
names; each must be
  - a family in the exposition (histogram families also answer to their
    _bucket/_sum/_count series, counters with and without _total),
  - a series recorded by a `record:` rule in the given rule files,
  - a series Prometheus makes itself (up, scrape_*), or
  - one of OPTIONAL_FAMILIES, which the server exports only on some
    machines (a note is printed).
Label matchers attached to a metric ({line=~"..."}) must name labels the
family's samples carry (or job/instance, which Prometheus adds), whenever the
exposition has samples of that family.

Exit status 0 when everything resolves, 1 with one line per problem.
Standard library only: the rules file is read with a small YAML subset
reader (the `expr:` and `record:` keys, plain or block scalars).
"""

import argparse
import json
import re
import sys

# Families exported only when CUDA is present (see server/metrics/).
OPTIONAL_FAMILIES = {
    "lineserve_gpu_memory_used_bytes": "only exported when CUDA is present",
    "lineserve_gpu_memory_total_bytes": "only exported when CUDA is present",
}
# Series Prometheus synthesises for every target.
PROMETHEUS_SERIES = {"up", "scrape_duration_seconds", "scrape_samples_scraped",
                     "scrape_samples_post_metric_relabeling",
                     "scrape_series_added"}
TARGET_LABELS = {"job", "instance"}

PROMQL_KEYWORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "and",
    "or", "unless", "bool", "offset", "inf", "nan", "atan2",
    # aggregation operators (may be followed by "by (...)" before "(")
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count",
    "count_values", "bottomk", "topk", "quantile",
}


def parse_exposition(text):
    """Returns {family: {"type": t, "labels": set, "samples": int}} and the
    map from every sample name to its family."""
    families = {}
    series_to_family = {}
    for line in text.splitlines():
        m = re.match(r"#\s*TYPE\s+(\S+)\s+(\S+)", line)
        if m:
            name, kind = m.groups()
            families.setdefault(name, {"type": kind, "labels": set(),
                                       "samples": 0})
            families[name]["type"] = kind
            suffixes = {"histogram": ["_bucket", "_sum", "_count"],
                        "summary": ["_sum", "_count"],
                        "counter": ["_total"] if not name.endswith("_total")
                        else []}.get(kind, [])
            series_to_family[name] = name
            for suffix in suffixes:
                series_to_family[name + suffix] = name
            continue
        if not line.strip() or line.startswith("#"):
            continue
        m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s", line)
        if not m:
            continue
        sample, _, labels = m.groups()
        family = series_to_family.get(sample)
        if family is None:  # untyped sample
            family = sample
            families.setdefault(family, {"type": "untyped", "labels": set(),
                                         "samples": 0})
            series_to_family[sample] = family
        families[family]["samples"] += 1
        for label in re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="', labels or ""):
            if label != "le" or families[family]["type"] == "histogram":
                families[family]["labels"].add(label)
    return families, series_to_family


def strip_strings(expr):
    return re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""',
                  expr)


def metric_selectors(expr):
    """Yields (metric name, [label names in its matcher]) for every metric
    selector in a PromQL expression."""
    text = strip_strings(expr)
    text = re.sub(r"\$\{?[A-Za-z0-9_]+\}?", "1", text)   # Grafana variables
    text = re.sub(r"\[[^\]]*\]", "", text)                # range selectors
    # Label lists of grouping modifiers are label names, not metrics.
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*"
                  r"\([^)]*\)", r"\1", text)
    pattern = re.compile(
        r"(?<![A-Za-z0-9_:.])([A-Za-z_:][A-Za-z0-9_:]*)\s*(\{[^}]*\})?"
        r"(\s*\()?")
    for m in pattern.finditer(text):
        name, matchers, call = m.groups()
        if call and not matchers:  # function or aggregation call
            continue
        if name in PROMQL_KEYWORDS:
            continue
        if re.fullmatch(r"\d", name):
            continue
        labels = re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)",
                            matchers or "")
        yield name, labels


def bare_selector_matchers(expr):
    """Selectors without a metric name ({__name__=...}) are not used here;
    report them so the check cannot be bypassed silently."""
    return re.findall(r"(?:^|[\s(,])\{[^}]*\}", strip_strings(expr))


def dashboard_expressions(path):
    with open(path) as f:
        dashboard = json.load(f)
    found = []

    def walk_panels(panels):
        for panel in panels:
            for target in panel.get("targets", []):
                if target.get("expr"):
                    found.append((f"{path}: panel \"{panel.get('title')}\" "
                                  f"{target.get('refId', '')}",
                                  target["expr"]))
            walk_panels(panel.get("panels", []))

    walk_panels(dashboard.get("panels", []))
    for var in dashboard.get("templating", {}).get("list", []):
        query = var.get("query")
        if isinstance(query, dict):
            query = query.get("query")
        if var.get("type") == "query" and query:
            m = re.fullmatch(r"\s*label_values\((.*),\s*[A-Za-z_]\w*\)\s*",
                             query)
            found.append((f"{path}: variable ${var.get('name')}",
                          m.group(1) if m else query))
    if not found:
        raise ValueError(f"{path}: no panel queries found")
    return found


def rules_expressions(path):
    """(where, expr) for every rule and the set of recorded series names,
    from a Prometheus rule file (block scalars `expr: |` or plain)."""
    with open(path) as f:
        lines = f.read().splitlines()
    exprs, records = [], set()
    i = 0
    while i < len(lines):
        line = lines[i]
        m = re.match(r"^(\s*)(?:-\s+)?(expr|record|alert):\s*(.*)$", line)
        i += 1
        if not m:
            continue
        indent, key, value = len(m.group(1)), m.group(2), m.group(3).strip()
        if value in ("|", ">", "|-", ">-"):
            block = []
            while i < len(lines) and (not lines[i].strip() or
                                      len(lines[i]) - len(lines[i].lstrip())
                                      > indent):
                block.append(lines[i].strip())
                i += 1
            value = " ".join(block)
        value = value.strip().strip("'\"") if key != "expr" else value
        if key == "record":
            records.add(value)
        elif key == "expr":
            exprs.append((f"{path}:{i}", value))
    if not exprs:
        raise ValueError(f"{path}: no rule expressions found")
    return exprs, records


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--exposition", required=True,
                        help="text of GET /metrics from a running server")
    parser.add_argument("--dashboard", action="append", default=[])
    parser.add_argument("--rules", action="append", default=[])
    args = parser.parse_args()

    with open(args.exposition) as f:
        families, series_to_family = parse_exposition(f.read())
    if not families:
        print(f"{args.exposition}: no metric families", file=sys.stderr)
        return 1

    expressions, recorded = [], set()
    for path in args.rules:
        exprs, records = rules_expressions(path)
        expressions += exprs
        recorded |= records
    for path in args.dashboard:
        expressions += dashboard_expressions(path)

    problems, optional_seen, used = [], set(), set()
    for where, expr in expressions:
        if bare_selector_matchers(expr):
            problems.append(f"{where}: selector without a metric name: {expr}")
        for name, labels in metric_selectors(expr):
            if name in recorded or name in PROMETHEUS_SERIES:
                continue
            if name in OPTIONAL_FAMILIES and name not in series_to_family:
                optional_seen.add(name)
                continue
            family = series_to_family.get(name)
            if family is None:
                problems.append(f"{where}: {name} is not exported "
                                f"(expression: {expr.strip()})")
                continue
            used.add(family)
            info = families[family]
            if info["samples"] == 0:
                continue
            for label in labels:
                if label not in info["labels"] and label not in TARGET_LABELS:
                    problems.append(
                        f"{where}: {name} has no label {label!r} (it has "
                        f"{sorted(info['labels'])})")

    unused = sorted(set(families) - used)
    if unused:
        print(f"note: exported but queried nowhere: {', '.join(unused)}")
    for name in sorted(optional_seen):
        print(f"note: {name} absent from the exposition, accepted: "
              f"{OPTIONAL_FAMILIES[name]}")
    for problem in problems:
        print(problem)
    print(f"checked {len(expressions)} expressions against "
          f"{len(families)} exported families ({len(used)} used, "
          f"{len(recorded)} recorded series): "
          f"{'OK' if not problems else f'{len(problems)} problem(s)'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
