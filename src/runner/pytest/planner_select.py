"""Runs exactly the tests a gha-planner shard holds, selected after collection.

pytest resolves every node id given as an argument on its own (about 4 ms each: a shard of
2,472 ids spent 12.5 s before its first test). This plugin lets pytest collect as usual and
keeps the shard's tests, as pytest-split does, and fails the run when an item of the shard
names no collected test, so that no test is lost without a word.

    planner shard --index K --total N > shard.txt
    PYTHONPATH=DIR_OF_THIS_FILE python -m pytest -p planner_select --planner-items=shard.txt

Give the file with `=`: pytest finds its rootdir and ini file from the arguments before this
plugin's option is known, and would take a separate `shard.txt` for a path to test.

An item is a node id (``tests/test_a.py::TestX::test_y[1]``) or a file (``tests/test_a.py``,
all of its tests), as ``planner shard`` prints them; blank lines are ignored.
"""

import pytest


def pytest_addoption(parser):
    group = parser.getgroup("planner", "gha-planner shard selection")
    group.addoption(
        "--planner-items",
        metavar="FILE",
        default=None,
        help="run only the tests listed in FILE (node ids or files, one per line, as "
        "`planner shard` prints them)",
    )


def _read(path):
    """The shard's items; `./` in front of one (how `--format pytest` gives an id that starts
    with `-`) is left out, as pytest's node ids have none."""
    with open(path, encoding="utf-8") as f:
        lines = [line.rstrip("\r\n") for line in f if line.strip()]
    return [line[2:] if line.startswith("./") else line for line in lines]


def _item_of(nodeid, ids):
    """The shard's item that holds the test `nodeid`: itself, its file, a class or test that
    holds it, or the test a parametrized one is an instance of; None when the shard has none."""
    if nodeid in ids:
        return nodeid
    file = nodeid.split("::", 1)[0]
    if file in ids:
        return file
    parent = nodeid
    while "::" in parent:
        parent = parent.rsplit("::", 1)[0]
        if parent in ids:
            return parent
    if "[" in nodeid:
        base = nodeid.split("[", 1)[0]
        if base in ids:
            return base
    return None


def pytest_deselected(items):
    config = items[0].config if items else None
    if config is not None and not getattr(config, "_planner_selecting", False):
        if not hasattr(config, "_planner_deselected"):
            config._planner_deselected = set()
        config._planner_deselected.update(i.nodeid for i in items)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session, config, items):
    path = config.getoption("planner_items")
    if path is None:
        return
    wanted = _read(path)
    ids = set(wanted)
    keep, drop, seen = [], [], set()
    for item in items:
        hit = _item_of(item.nodeid, ids)
        if hit is None:
            drop.append(item)
        else:
            keep.append(item)
            seen.add(hit)
    # A test that another plugin or `-m`/`-k` deselected first is not lost: it was found.
    for nodeid in getattr(config, "_planner_deselected", ()):
        hit = _item_of(nodeid, ids)
        if hit is not None:
            seen.add(hit)
    missing = [i for i in wanted if i not in seen]
    if drop:
        config._planner_selecting = True
        config.hook.pytest_deselected(items=drop)
        config._planner_selecting = False
        items[:] = keep
    config._planner_missing = missing
    config._planner_empty = not wanted


def pytest_collection_finish(session):
    missing = getattr(session.config, "_planner_missing", None)
    if missing:
        shown = "\n  ".join(missing[:20])
        more = f"\n  … and {len(missing) - 20} more" if len(missing) > 20 else ""
        raise pytest.UsageError(
            f"{len(missing)} item(s) of the shard name no collected test (renamed, deleted, "
            f"or collected from another folder):\n  {shown}{more}"
        )


def pytest_sessionfinish(session, exitstatus):
    # A shard with no items (more shards than items) passes, as `planner shard` says it does;
    # pytest would fail it for running no test.
    if getattr(session.config, "_planner_empty", False) and exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        session.exitstatus = pytest.ExitCode.OK
