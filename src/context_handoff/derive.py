"""Stage 4: a State -> Facts (ready, blocked, critical path, progress, warnings).

Pure functions, linear in tasks plus dependency edges: every graph walk visits a
task once, so a 100,000-task state costs about ten times a 10,000-task one.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TypeVar

from .model import (
    FINISHED,
    Blocked,
    Decision,
    ErrorRecord,
    Facts,
    PhaseProgress,
    State,
    Task,
)

SATISFIED = frozenset({"done", "skipped"})  # a dependency in these lets its dependents start
DISK_WARN_FRACTION = 0.9
# A state dated up to this far in the future is clock skew between the orchestrator's
# machine and this one; further is a wrong clock or a wrong date: warned about, and
# never "fresh" (generate --max-age fails).
FUTURE_ALLOWANCE_HOURS = 5 / 60
AGE_SOURCES = ("metadata.last_updated", "git commit", "file mtime")
_Dated = TypeVar("_Dated", ErrorRecord, Decision)


class _Graph:
    """Dependency edges (dependency -> dependents) between known tasks."""

    def __init__(self, tasks: dict[str, Task]) -> None:
        """The edges task by task as the state lists them (its dependencies, then its
        dependents), each kept once; one naming an unknown task or the task itself is
        set aside as written: (the task, the id it names)."""
        kept: dict[str, dict[str, None]] = {tid: {} for tid in tasks}  # ordered sets
        self.dangling: list[tuple[str, str]] = []
        for task in tasks.values():
            tid = task.id
            own = kept.get(tid)
            for dep in task.dependencies:
                if dep == tid or own is None or dep not in kept:
                    self.dangling.append((tid, dep))
                else:
                    kept[dep][tid] = None
            for kid in task.dependents:
                if kid == tid or own is None or kid not in kept:
                    self.dangling.append((tid, kid))
                else:
                    own[kid] = None
        self.children: dict[str, list[str]] = {tid: list(kids) for tid, kids in kept.items()}

    def topological_order(self) -> tuple[list[str], list[str]]:
        """Kahn's order of the acyclic part, and the tasks left on or after a cycle."""
        children = self.children
        indegree = dict.fromkeys(children, 0)
        for kids in children.values():
            for kid in kids:
                indegree[kid] += 1
        order = [tid for tid, n in indegree.items() if n == 0]
        for tid in order:  # the order is its own queue: appended to as it is read
            for kid in children[tid]:
                left = indegree[kid] = indegree[kid] - 1
                if not left:
                    order.append(kid)
        return order, [tid for tid, n in indegree.items() if n > 0]

    def find_cycle(self, stuck: Sequence[str]) -> list[str]:
        """One cycle among the tasks Kahn's algorithm could not order.

        Walks backwards: every stuck task has a stuck parent (that is why it is stuck),
        while a task downstream of a cycle may have no stuck child to walk forwards to."""
        left = set(stuck)
        parents: dict[str, str] = {}
        for parent in stuck:
            for kid in self.children[parent]:
                if kid in left:
                    parents.setdefault(kid, parent)
        node = stuck[0]
        path: list[str] = []
        index: dict[str, int] = {}
        while node not in index:
            index[node] = len(path)
            path.append(node)
            node = parents[node]
        cycle = path[index[node] :]
        cycle.reverse()
        return [*cycle, cycle[0]]


def derive_facts(state: State, now: datetime) -> Facts:
    """Everything the packer chooses from, computed once."""
    tasks = state.tasks
    graph = _Graph(tasks)
    warnings = list(state.warnings)
    warnings += [
        f"tasks.{tid}: unknown or self dependency {other!r}" for tid, other in graph.dangling
    ]
    order, stuck = graph.topological_order()
    if stuck:
        cycle = graph.find_cycle(stuck)
        warnings.append(
            f"dependency cycle: {' -> '.join(cycle)} ({len(stuck)} tasks on or after cycles)"
        )
    counts: dict[str, int] = {}
    for task in tasks.values():
        counts[task.status] = counts.get(task.status, 0) + 1
    heights = _chain_heights(tasks, graph, order)
    blocked, blocks_count = _blocked(tasks, graph)
    phase_index = {tid: i for i, phase in enumerate(state.phases) for tid in phase.tasks}
    warnings += _context_warnings(state)
    warnings += _environment_warnings(state)
    active = _active(state)
    active_set = set(active)
    age_hours, age_source = _age(state, now)
    if age_hours is not None and age_hours < -FUTURE_ALLOWANCE_HOURS:
        warnings.append(
            f"the state is dated {-age_hours:g} h in the future ({age_source}); "
            "a clock is wrong: its age is unknown"
        )
    return Facts(
        state=state,
        counts=counts,
        active=active,
        # an active task is not also next, unless the input format names its own next
        # (Task Master's `next` continues an in-progress subtask first)
        ready=tuple(
            t
            for t in _ready(tasks, heights, phase_index, state.next_order)
            if t not in active_set or state.next_order is not None
        ),
        blocked=blocked,
        blocks_count=blocks_count,
        critical_path=_critical_path(order, graph, heights),
        phases=tuple(_phase_progress(state)),
        recent_errors=_newest_first(state.errors, [e.timestamp for e in state.errors]),
        recent_decisions=_newest_first(
            [d for d in state.decisions if not d.pending],
            [d.decided_at for d in state.decisions if not d.pending],
        ),
        pending_decisions=tuple(d for d in state.decisions if d.pending),
        warnings=tuple(warnings),
        age_hours=age_hours,
        age_source=age_source,
    )


def _active(state: State) -> tuple[str, ...]:
    """The tasks the orchestrator declared active (what it was doing when it handed off),
    then those whose own status is running; a disagreement is a warning elsewhere. A
    declared task that has since finished or failed is no longer being worked on."""
    declared = [
        tid
        for tid in state.context_active
        if tid in state.tasks and state.tasks[tid].status not in FINISHED | {"failed"}
    ]
    running = [t.id for t in state.tasks.values() if t.status == "running"]
    return tuple(dict.fromkeys([*declared, *running]))


def _chain_heights(tasks: dict[str, Task], graph: _Graph, order: list[str]) -> dict[str, int]:
    """For each unfinished task, the length of the longest unfinished chain it starts."""
    heights: dict[str, int] = {}
    for tid in reversed(order):
        if tasks[tid].status in FINISHED:
            continue
        heights[tid] = 1 + max((heights.get(kid, 0) for kid in graph.children[tid]), default=0)
    return heights


def _critical_path(order: list[str], graph: _Graph, heights: dict[str, int]) -> tuple[str, ...]:
    if not heights:
        return ()
    start = max((tid for tid in order if tid in heights), key=lambda tid: heights[tid])
    path = [start]
    while True:
        kids = [kid for kid in graph.children[path[-1]] if kid in heights]
        if not kids:
            return tuple(path)
        path.append(max(kids, key=lambda kid: heights[kid]))


def _ready(
    tasks: dict[str, Task],
    heights: dict[str, int],
    phase_index: dict[str, int],
    own_order: tuple[str, ...] | None = None,
) -> tuple[str, ...]:
    """Pending tasks with every dependency done, longest remaining chain first; or the
    input format's own order (Task Master's `next`) when it has one."""
    if own_order is not None:
        return own_order
    position = {tid: i for i, tid in enumerate(tasks)}
    ready = [
        t.id
        for t in tasks.values()
        if t.status == "pending"
        and all(dep in tasks and tasks[dep].status in SATISFIED for dep in t.dependencies)
    ]
    last_phase = len(phase_index) + 1
    ready.sort(
        key=lambda tid: (-heights.get(tid, 0), phase_index.get(tid, last_phase), position[tid])
    )
    return tuple(ready)


def _blocked(tasks: dict[str, Task], graph: _Graph) -> tuple[tuple[Blocked, ...], dict[str, int]]:
    """Unstarted tasks downstream of a failure, each with its nearest failed ancestor."""
    blocker: dict[str, str] = {}
    queue = deque((tid, tid) for tid, t in tasks.items() if t.status == "failed")
    while queue:
        tid, root = queue.popleft()
        for kid in graph.children[tid]:
            if kid not in blocker and tasks[kid].status in ("pending", "blocked"):
                blocker[kid] = root
                queue.append((kid, root))
    counts: dict[str, int] = {}
    for root in blocker.values():
        counts[root] = counts.get(root, 0) + 1
    blocked = [Blocked(tid, blocker[tid]) for tid in tasks if tid in blocker]
    blocked += [
        Blocked(tid, "") for tid, t in tasks.items() if t.status == "blocked" and tid not in blocker
    ]
    return tuple(blocked), counts


def _phase_progress(state: State) -> Iterable[PhaseProgress]:
    """Each phase's tasks counted as the overall counts are: ``done`` is the tasks done,
    ``dropped`` the skipped and cancelled ones (neither is done); a phase is done when
    nothing in it is left to run."""
    for phase in state.phases:
        members = [state.tasks[tid] for tid in phase.tasks if tid in state.tasks]
        done = sum(t.status == "done" for t in members)
        dropped = sum(t.status in FINISHED for t in members) - done
        if members and done + dropped == len(members):
            status = "done"
        elif done or dropped or any(t.status in ("running", "failed") for t in members):
            status = "active"
        else:
            status = "pending"
        yield PhaseProgress(phase.id, phase.name, done, len(members), status, dropped)


def _newest_first(items: Sequence[_Dated], times: Sequence[datetime | None]) -> tuple[_Dated, ...]:
    """Newest first; undated ones last, later in the file before earlier."""

    def rank(i: int) -> tuple[bool, float, int]:
        stamp = times[i]
        return (stamp is None, -stamp.timestamp() if stamp else 0.0, -i)

    ranked = sorted(range(len(items)), key=rank)
    return tuple(items[i] for i in ranked)


def _context_warnings(state: State) -> list[str]:
    """Where the context's lists disagree with the tasks' own status (the truth)."""
    expected = (
        ("active_tasks", state.context_active, {"running"}),
        ("completed_tasks", state.context_completed, set(FINISHED)),
        ("failed_tasks", state.context_failed, {"failed"}),
    )
    warnings = []
    for key, ids, statuses in expected:
        for tid in ids:
            task = state.tasks.get(tid)
            if task is None:
                warnings.append(f"context.{key} lists unknown task {tid!r}")
            elif task.status not in statuses:
                warnings.append(f"context.{key} lists {tid!r} but its status is {task.status}")
    phase_ids = {p.id for p in state.phases}
    if state.current_phase and phase_ids and state.current_phase not in phase_ids:
        warnings.append(f"context.current_phase {state.current_phase!r} is not in dag.phases")
    return warnings


def _environment_warnings(state: State) -> list[str]:
    warnings = []
    env = state.environment
    if env and env.missing_dependencies:
        warnings.append("missing dependencies: " + ", ".join(env.missing_dependencies))
    missing = [f.path for f in state.files if f.exists is False and f.required_by]
    if missing:
        warnings.append("required files missing: " + ", ".join(missing))
    disk = state.disk
    if (
        disk
        and disk.total_bytes
        and disk.used_bytes is not None
        and disk.used_bytes >= DISK_WARN_FRACTION * disk.total_bytes
    ):
        warnings.append(f"disk {100 * disk.used_bytes / disk.total_bytes:.0f}% full")
    return warnings


def _age(state: State, now: datetime) -> tuple[float | None, str | None]:
    """Hours since the state last changed, and where that time came from: the state's
    own stamp, else its file's last commit (found only on a CI runner, where the mtime
    is the checkout's time), else its file's mtime."""
    stamps = (state.last_updated, state.source.committed_at, state.source.mtime)
    for stamp, source in zip(stamps, AGE_SOURCES, strict=True):
        if stamp is not None:
            return round((now - stamp).total_seconds() / 3600, 2), source
    return None, None
