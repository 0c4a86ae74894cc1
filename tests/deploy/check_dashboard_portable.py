#!/usr/bin/env python3
"""The Grafana dashboard imports into any Grafana: a datasource variable
(type prometheus) and every panel, target and query variable reading its
data from ${datasource}, never from a fixed datasource uid.

usage: check_dashboard_portable.py DASHBOARD.json"""
import json
import sys


def main(path):
    with open(path) as f:
        dashboard = json.load(f)
    variables = dashboard.get("templating", {}).get("list", [])
    sources = [v for v in variables if v.get("type") == "datasource"]
    problems = []
    if not sources or sources[0].get("query") != "prometheus":
        problems.append("no datasource variable of type prometheus")
    name = sources[0]["name"] if sources else "datasource"
    wanted = "${" + name + "}"

    def check(where, holder):
        source = holder.get("datasource")
        if source is None:
            return
        uid = source.get("uid") if isinstance(source, dict) else source
        if uid != wanted:
            problems.append(f"{where}: datasource {json.dumps(source)}, "
                            f"not {wanted}")

    def walk(panels):
        for panel in panels:
            title = panel.get("title", "?")
            check(f"panel \"{title}\"", panel)
            for target in panel.get("targets", []):
                check(f"panel \"{title}\" target {target.get('refId')}",
                      target)
            walk(panel.get("panels", []))

    walk(dashboard.get("panels", []))
    for variable in variables:
        if variable.get("type") == "query":
            check(f"variable ${variable.get('name')}", variable)
    for problem in problems:
        print(f"{path}: {problem}")
    if problems:
        return 1
    print(f"{path}: every query reads from {wanted}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
