"""Stage 4: a State -> Facts (ready, blocked, critical path, progress, warnings).

Pure functions, linear in tasks plus dependency edges: every graph walk visits a
task once, so a 100,000-task state costs about ten times a 10,000-task one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime
from operator import attrgetter
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
_UNSTARTED = frozenset({"pending", "blocked"})  # a failure upstream blocks these
_STATUS = attrgetter("status")
DISK_WARN_FRACTION = 0.9
# A state dated up to this far in the future is clock skew between the orchestrator's
# machine and this one; further is a wrong clock or a wrong date: warned about, and
# never "fresh" (generate --max-age fails).
FUTURE_ALLOWANCE_HOURS = 5 / 60
AGE_SOURCES = ("metadata.last_updated", "git commit", "file mtime")
_Dated = TypeVar("_Dated", ErrorRecord, Decision)


class _Graph:
    """Dependency edges (dependency -> dependents) between known tasks, by position in
    the state's order: the passes below walk ints, not ids (a hundred thousand tasks
    are walked several times, and an id is looked up once, here)."""

    def __init__(self, tasks: dict[str, Task]) -> None:
        """The edges task by task as the state lists them (its dependencies, then its
        dependents), each kept once; one naming an unknown task or the task itself is
        set aside as written: (the task, the id it names)."""
        self.ids = list(tasks)
        self.tasks = list(tasks.values())
        statuses = self.statuses = [task.status for task in self.tasks]
        at = {tid: i for i, tid in enumerate(self.ids)}
        kept: list[dict[int, None]] = [{} for _ in self.ids]  # ordered sets
        self.dangling: list[tuple[str, str]] = []
        # a dependency unknown or not done (nor skipped): the task cannot start yet
        self.waiting = [False] * len(self.ids)
        for i, task in enumerate(self.tasks):
            own = at.get(task.id)
            for dep in task.dependencies:
                parent = at.get(dep)
                if parent is None or statuses[parent] not in SATISFIED:
                    self.waiting[i] = True
                if parent is None or own is None or parent == own:
                    self.dangling.append((task.id, dep))
                else:
                    kept[parent][own] = None
            for kid in task.dependents:
                child = at.get(kid)
                if child is None or own is None or child == own:
                    self.dangling.append((task.id, kid))
                else:
                    kept[own][child] = None
        # tuples: one block of memory each, for the passes that walk them all again
        self.children: list[tuple[int, ...]] = [tuple(kids) for kids in kept]

    def topological_order(self) -> tuple[list[int], list[int]]:
        """Kahn's order of the acyclic part, and the tasks left on or after a cycle."""
        children = self.children
        indegree = [0] * len(children)
        for kids in children:
            for kid in kids:
                indegree[kid] += 1
        order = [i for i, n in enumerate(indegree) if not n]
        for i in order:  # the order is its own queue: appended to as it is read
            for kid in children[i]:
                left = indegree[kid] = indegree[kid] - 1
                if not left:
                    order.append(kid)
        return order, [i for i, n in enumerate(indegree) if n]

    def find_cycle(self, stuck: Sequence[int]) -> list[str]:
        """One cycle among the tasks Kahn's algorithm could not order.

        Walks backwards: every stuck task has a stuck parent (that is why it is stuck),
        while a task downstream of a cycle may have no stuck child to walk forwards to."""
        left = set(stuck)
        parents: dict[int, int] = {}
        for parent in stuck:
            for kid in self.children[parent]:
                if kid in left:
                    parents.setdefault(kid, parent)
        node = stuck[0]
        path: list[int] = []
        index: dict[int, int] = {}
        while node not in index:
            index[node] = len(path)
            path.append(node)
            node = parents[node]
        cycle = [self.ids[i] for i in path[index[node] :]]
        cycle.reverse()
        return [*cycle, cycle[0]]


def derive_facts(state: State, now: datetime) -> Facts:
    """Everything the packer chooses from, computed once."""
    graph = _Graph(state.tasks)
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
    heights = _chain_heights(graph, order)
    blocked, blocks_count = _blocked(graph)
    warnings += _context_warnings(state)
    warnings += _environment_warnings(state)
    active = _active(state, graph)
    age_hours, age_source = _age(state, now)
    if age_hours is not None and age_hours < -FUTURE_ALLOWANCE_HOURS:
        warnings.append(
            f"the state is dated {-age_hours:g} h in the future ({age_source}); "
            "a clock is wrong: its age is unknown"
        )
    return Facts(
        state=state,
        counts=dict(Counter(graph.statuses)),
        active=active,
        ready=_ready(state, graph, heights, active),
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


def _active(state: State, graph: _Graph) -> tuple[str, ...]:
    """The tasks the orchestrator declared active (what it was doing when it handed off),
    then those whose own status is running; a disagreement is a warning elsewhere. A
    declared task that has since finished or failed is no longer being worked on."""
    declared = [
        tid
        for tid in state.context_active
        if tid in state.tasks and state.tasks[tid].status not in FINISHED | {"failed"}
    ]
    running = [t.id for t, s in zip(graph.tasks, graph.statuses, strict=True) if s == "running"]
    return tuple(dict.fromkeys([*declared, *running]))


def _chain_heights(graph: _Graph, order: list[int]) -> list[int]:
    """For each task, the length of the longest unfinished chain it starts: 0 for a
    finished task and for one on or after a cycle (neither starts a chain)."""
    statuses = graph.statuses
    heights = [0] * len(statuses)
    children = graph.children
    height_of = heights.__getitem__
    for i in reversed(order):
        if statuses[i] not in FINISHED:
            heights[i] = 1 + max(map(height_of, children[i]), default=0)
    return heights


def _critical_path(order: list[int], graph: _Graph, heights: list[int]) -> tuple[str, ...]:
    """The longest unfinished chain: from the first task (in order) starting one as long
    as any, each step to the first child whose chain is longest."""
    if not order:
        return ()
    height_of = heights.__getitem__
    node = max(order, key=height_of)
    path = []
    while heights[node]:
        path.append(node)
        kids = graph.children[node]
        if not kids:
            break
        node = max(kids, key=height_of)
    return tuple(graph.ids[i] for i in path)


def _ready(
    state: State, graph: _Graph, heights: list[int], active: tuple[str, ...]
) -> tuple[str, ...]:
    """Pending tasks with every dependency done, longest remaining chain first, then by
    phase, then in the state's order; or the input format's own order (Task Master's
    `next`) when it has one. An active task is not also next, unless the input format
    names its own next (Task Master's `next` continues an in-progress subtask first)."""
    if state.next_order is not None:
        return state.next_order
    ids, tasks, waiting = graph.ids, graph.tasks, graph.waiting
    busy = set(active)
    ready = [
        i
        for i, status in enumerate(graph.statuses)
        if status == "pending" and not waiting[i] and tasks[i].id not in busy
    ]
    if state.phases:
        phase_index = {tid: i for i, phase in enumerate(state.phases) for tid in phase.tasks}
        last_phase = len(phase_index) + 1
        ready.sort(key=lambda i: (-heights[i], phase_index.get(ids[i], last_phase)))
    else:  # stable: the state's order among equals, as with reverse=False
        ready.sort(key=heights.__getitem__, reverse=True)
    return tuple(ids[i] for i in ready)


def _blocked(graph: _Graph) -> tuple[tuple[Blocked, ...], dict[str, int]]:
    """Unstarted tasks downstream of a failure, each with its nearest failed ancestor:
    one breadth-first walk from every failure at once, the earlier failure first."""
    ids, statuses, children = graph.ids, graph.statuses, graph.children
    queue = [i for i, status in enumerate(statuses) if status == "failed"]
    root = [-1] * len(ids)
    for i in queue:
        root[i] = i
    unreached = list(map(_UNSTARTED.__contains__, statuses))
    failures = len(queue)
    for node in queue:  # the queue is its own iterator: appended to as it is read
        for kid in children[node]:
            if unreached[kid]:
                unreached[kid] = False
                root[kid] = root[node]
                queue.append(kid)
    walked = queue[failures:]
    counts = {ids[r]: n for r, n in Counter(map(root.__getitem__, walked)).items()}
    walked.sort()
    blocked = [Blocked(ids[i], ids[root[i]]) for i in walked]
    if "blocked" in statuses:
        blocked += [
            Blocked(ids[i], "")
            for i, status in enumerate(statuses)
            if status == "blocked" and unreached[i]
        ]
    return tuple(blocked), counts


def _phase_progress(state: State) -> Iterable[PhaseProgress]:
    """Each phase's tasks counted as the overall counts are: ``done`` is the tasks done,
    ``dropped`` the skipped and cancelled ones (neither is done); a phase is done when
    nothing in it is left to run."""
    for phase in state.phases:
        found = Counter(map(_STATUS, filter(None, map(state.tasks.get, phase.tasks))))
        members = found.total()
        done = found["done"]
        dropped = sum(found[status] for status in FINISHED) - done
        if members and done + dropped == members:
            status = "done"
        elif done or dropped or found["running"] or found["failed"]:
            status = "active"
        else:
            status = "pending"
        yield PhaseProgress(phase.id, phase.name, done, members, status, dropped)


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
