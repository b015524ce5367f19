"""The benchmark's baseline: pytest-split's own `least_duration` (pytest-split 0.11.0 from PyPI,
installed by tests/tools/install.sh), called as pytest calls it, on the refreshes of a series.

Reads on stdin {"series": PATH, "problems": [[t, u, n], ...]}: split refresh u's tests into n
groups using refresh t's file, as a project that committed that file would. Writes on stdout one
list per problem: each test's group, the tests in sorted order (the order of the benchmark's ids).
"""

import json
import sys

from pytest_split.algorithms import Algorithms


class Item:
    """What pytest-split reads of a collected pytest item: its node id (and str() for ties)."""

    __slots__ = ("nodeid",)

    def __init__(self, nodeid):
        self.nodeid = nodeid

    def __str__(self):
        return self.nodeid


def main():
    request = json.load(sys.stdin)
    with open(request["series"], encoding="utf-8") as f:
        snapshots = [s["durations"] for s in json.load(f)["snapshots"]]
    least_duration = Algorithms.least_duration.value
    out = []
    for t, u, n in request["problems"]:
        names = sorted(snapshots[u])
        items = [Item(name) for name in names]
        group_of = {}
        for g, group in enumerate(least_duration(n, items, snapshots[t])):
            for item in group.selected:
                group_of[item.nodeid] = g
        out.append([group_of[name] for name in names])
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
