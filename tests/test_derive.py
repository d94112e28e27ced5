"""Derived facts: ready, transitive blocking, the critical path, progress, warnings."""

from __future__ import annotations

import itertools
import random
from datetime import datetime, timezone

import pytest

from context_handoff import pipeline
from context_handoff.derive import derive_facts
from context_handoff.model import FINISHED

NOW = datetime(2025, 1, 15, 15, 0, tzinfo=timezone.utc)


def _facts(write_state, tasks, **extra):
    return derive_facts(pipeline.read_state(write_state({"tasks": tasks, **extra})), NOW)


def t(status, *deps, **kw):
    return {"status": status, "dependencies": list(deps), **kw}


def test_example_state_facts(write_state, example_doc):
    facts = derive_facts(pipeline.read_state(write_state(example_doc)), NOW)
    # declared active by the orchestrator (its status still says pending): active, not next
    assert facts.active == ("s16_switch_dns",)
    assert facts.ready == ()
    assert [(b.task_id, b.blocked_by) for b in facts.blocked] == [
        ("s20_publish_audit", "s10_check_links")
    ]
    assert facts.critical_path == ("s16_switch_dns", "s17_verify_redirects", "s19_notify_readers")
    assert [(p.id, p.done, p.total, p.status) for p in facts.phases] == [
        ("p1_setup", 2, 2, "done"),
        ("p2_content", 1, 2, "active"),
        ("p3_launch", 5, 8, "active"),
        ("p4_followup", 0, 3, "pending"),
    ]
    assert facts.age_hours == 0.5
    assert any("active_tasks lists 's16_switch_dns'" in w for w in facts.warnings)
    assert [d.pending for d in facts.pending_decisions] == [True]
    # decided ones newest first
    assert [d.choice for d in facts.recent_decisions] == ["rejected", "approved"]


def test_blocking_is_transitive_and_names_the_failure(write_state):
    facts = _facts(
        write_state,
        {
            "f": t("failed"),
            "a": t("pending", "f"),
            "b": t("pending", "a"),
            "c": t("pending", "b"),
            "ok": t("done"),
            "r": t("pending", "ok"),
        },
    )
    assert [(b.task_id, b.blocked_by) for b in facts.blocked] == [
        ("a", "f"),
        ("b", "f"),
        ("c", "f"),
    ]
    assert facts.blocks_count == {"f": 3}
    assert facts.ready == ("r",)


def test_explicitly_blocked_tasks_without_a_failure(write_state):
    facts = _facts(write_state, {"x": t("blocked")})
    assert [(b.task_id, b.blocked_by) for b in facts.blocked] == [("x", "")]


def test_critical_path_is_the_longest_unfinished_chain(write_state):
    # short branch a->b, long branch c->d->e->f; done tasks do not count
    facts = _facts(
        write_state,
        {
            "root": t("done"),
            "a": t("pending", "root"),
            "b": t("pending", "a"),
            "c": t("pending", "root"),
            "d": t("pending", "c"),
            "e": t("pending", "d"),
            "f": t("pending", "e"),
        },
    )
    assert facts.critical_path == ("c", "d", "e", "f")
    assert facts.ready[0] == "c"  # the ready task that starts the longest chain comes first


def test_dependents_declared_only_in_reverse_are_edges(write_state):
    facts = _facts(
        write_state, {"a": {"status": "failed", "dependents": ["b"]}, "b": {"status": "pending"}}
    )
    assert [(b.task_id, b.blocked_by) for b in facts.blocked] == [("b", "a")]


def test_dangling_ids_and_cycles_are_warnings_not_crashes(write_state):
    facts = _facts(
        write_state,
        {
            "a": t("pending", "b"),
            "b": t("pending", "a"),
            "c": t("pending", "ghost"),
        },
    )
    assert any("dependency cycle: " in w and "a" in w and "b" in w for w in facts.warnings)
    assert any("'ghost'" in w for w in facts.warnings)
    assert "c" not in facts.ready  # an unknown dependency is not a done one


def test_errors_newest_first_with_undated_last(write_state):
    errors = [
        {"task_id": "a", "timestamp": "2025-01-01T00:00:00Z"},
        {"task_id": "b", "timestamp": None},
        {"task_id": "c", "timestamp": "2025-01-03T00:00:00Z"},
        {"task_id": "d"},
    ]
    facts = _facts(write_state, {"a": t("done")}, error_tracking={"errors": errors})
    assert [e.task_id for e in facts.recent_errors] == ["c", "a", "d", "b"]


def test_age_falls_back_to_the_files_mtime(write_state):
    import os

    path = write_state({"tasks": {"a": t("done")}})
    stamp = NOW.timestamp() - 7200
    os.utime(path, (stamp, stamp))
    assert derive_facts(pipeline.read_state(path), NOW).age_hours == 2.0


def test_environment_warnings(write_state):
    facts = _facts(
        write_state,
        {"a": t("done")},
        filesystem_state={
            "files": {"/x": {"exists": False, "required_by": ["a"]}},
            "disk_usage": {"total_bytes": 100, "used_bytes": 95, "available_bytes": 5},
        },
    )
    assert "required files missing: /x" in facts.warnings
    assert "disk 95% full" in facts.warnings


def test_large_graph_is_linear_enough(write_state):
    """A 20,000-task chain: deep enough that any recursion would fail."""
    n = 20_000
    tasks = {f"t{i}": t("pending", *([f"t{i - 1}"] if i else [])) for i in range(n)}
    facts = _facts(write_state, tasks)
    assert len(facts.critical_path) == n
    assert facts.ready == ("t0",)


def test_a_cycle_reached_from_an_earlier_task_is_named(write_state):
    # "x" is stuck behind the cycle but not on it: the cycle is found walking backwards
    facts = _facts(
        write_state, {"x": t("pending", "b"), "a": t("pending", "b"), "b": t("pending", "a")}
    )
    cycle = next(w for w in facts.warnings if w.startswith("dependency cycle: "))
    assert cycle.split(" (")[0] in (
        "dependency cycle: a -> b -> a",
        "dependency cycle: b -> a -> b",
    )
    assert "3 tasks on or after cycles" in cycle


def test_absurd_byte_counts_are_unknown_with_a_warning(write_state):
    huge = 10**400
    facts = _facts(
        write_state,
        {"a": t("done")},
        filesystem_state={
            "disk_usage": {"total_bytes": huge, "used_bytes": huge, "available_bytes": 1},
            "files": {"f.txt": {"size_bytes": huge}},
        },
    )
    assert facts.state.disk.total_bytes is None and facts.state.files[0].size_bytes is None
    assert sum("401-digit byte count" in w for w in facts.warnings) == 3


def test_phase_progress_counts_as_the_summary_does(write_state):
    """Skipped, deferred and cancelled tasks are not done in a phase either: ``dropped``
    counts them, and a phase with nothing left to run is done."""
    tasks = {
        "a": t("success"),
        "b": t("skipped"),
        "c": t("cancelled"),
        "d": t("pending"),
        "e": t("skipped"),
        "f": t("cancelled"),
        "g": t("success"),
    }
    phases = {
        "p1": {"name": "One", "tasks": ["a", "b", "c", "d"]},
        "p2": {"name": "Two", "tasks": ["e", "f", "g"]},
        "p3": {"name": "Three", "tasks": ["e"]},
    }
    facts = _facts(write_state, tasks, dag={"phases": phases})
    assert [(p.id, p.done, p.dropped, p.total, p.status) for p in facts.phases] == [
        ("p1", 1, 2, 4, "active"),
        ("p2", 1, 2, 3, "done"),
        ("p3", 0, 1, 1, "done"),
    ]
    assert sum(p.done for p in facts.phases[:2]) == facts.counts["done"]


def _edges(tasks):
    known = [
        (dep, tid)
        for tid, task in tasks.items()
        for dep in task.get("dependencies", ())
        if dep in tasks and dep != tid
    ]
    known += [
        (tid, kid)
        for tid, task in tasks.items()
        for kid in task.get("dependents", ())
        if kid in tasks and kid != tid
    ]
    return set(known)


def _distances(sources, edges, passable):
    """Breadth-first distances from ``sources`` through ``passable`` tasks."""
    dist = dict.fromkeys(sources, 0)
    frontier = list(sources)
    while frontier:
        frontier = [
            b for a in frontier for (x, b) in edges if x == a and passable(b) and b not in dist
        ]
        for b in frontier:
            dist.setdefault(b, min(dist[x] for x, y in edges if y == b and x in dist) + 1)
    return dist


@pytest.mark.parametrize("seed", range(40))
def test_random_graphs_agree_with_the_definitions(write_state, seed):
    """Random graphs (unknown and self dependencies, reverse-only edges, repeats, cycles)
    against the definitions: ready, transitive blocking by the nearest failure, and a
    critical path as long as the longest unfinished chain."""
    rng = random.Random(seed)
    ids = [f"t{i}" for i in range(rng.randint(1, 25))]
    names = [*ids, "ghost"]
    statuses = ["success", "failed", "running", "pending", "pending", "skipped", "blocked"]
    acyclic = seed % 2 == 0  # edges only forwards (a critical path to check), or anywhere

    def some(pool, counts):
        return [rng.choice(pool) for _ in range(rng.choice(counts))] if pool else []

    tasks = {
        tid: {
            "status": rng.choice(statuses),
            "dependencies": some([*ids[:i], "ghost"] if acyclic else names, [0, 1, 1, 2, 3]),
            "dependents": some([*ids[i:], "ghost"] if acyclic else names, [0, 0, 1, 2]),
        }
        for i, tid in enumerate(ids)
    }
    facts = _facts(write_state, tasks)
    status = {tid: facts.state.tasks[tid].status for tid in ids}
    edges = _edges(tasks)
    assert set(facts.ready) == {
        tid
        for tid in ids
        if status[tid] == "pending"
        and all(status.get(dep) in ("done", "skipped") for dep in tasks[tid]["dependencies"])
    }
    failed = [tid for tid in ids if status[tid] == "failed"]
    reach = _distances(failed, edges, lambda t: status[t] in ("pending", "blocked"))
    by = {b.task_id: b.blocked_by for b in facts.blocked}
    assert set(by) == {t for t in reach if t not in failed} | {
        t for t in ids if status[t] == "blocked"
    }
    for tid, root in by.items():
        if tid in reach and tid not in failed:
            assert _distances([root], edges, lambda t: t in reach)[tid] == reach[tid]
    assert sum(facts.blocks_count.values()) == len(reach) - len(failed)
    if acyclic:
        assert not any(w.startswith("dependency cycle") for w in facts.warnings)
        path = facts.critical_path
        assert all(status[t] not in FINISHED for t in path)
        assert all(pair in edges for pair in itertools.pairwise(path))
        longest: dict[str, int] = {}

        def height(t):
            if t not in longest:
                longest[t] = 1 + max(
                    (height(b) for a, b in edges if a == t and status[b] not in FINISHED),
                    default=0,
                )
            return longest[t]

        unfinished = [t for t in ids if status[t] not in FINISHED]
        assert len(path) == max(map(height, unfinished), default=0)
