"""The command line: parse options, call the pipeline, print, exit.

Exit codes: 0 ok; 1 the handoff failed (over budget, stale, invalid payload);
2 bad usage or bad input; 3 an unexpected internal error (traceback with --traceback).
"""

from __future__ import annotations

import gc
import json
import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import click

from . import (
    defaults,
    formats,
    payload_file,
    pipeline,
    render,
    reporters,
    validate,
    workflow_commands,
)
from .errors import ExitCode, HandoffError, InputError
from .metrics import recording_metrics
from .redact import scrub_error, scrub_text
from .reporters import GitHubReporter, GitLabReporter, Reporter
from .reporters.gitlab import check_dotenv_value
from .times import check_calendar, parse_time
from .write import check_destinations, write_atomically

_Command = TypeVar("_Command", bound=Callable[..., Any])
TRACKERS = ("github", "gitlab")  # notify.TRACKERS_BY_NAME, without importing it at start-up


class _Duration(click.ParamType):  # type: ignore[type-arg, unused-ignore]
    """``90m``, ``6h``, ``2d``, ``1w``; a bare number is hours."""

    name = "duration"
    _UNITS: ClassVar[dict[str, int]] = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> timedelta:
        if isinstance(value, timedelta):
            return value
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*", str(value))
        if not match:
            self.fail(f"{value!r} is not a duration such as 90m, 6h or 2d", param, ctx)
        number, unit = float(match.group(1)), match.group(2) or "h"
        try:
            return timedelta(seconds=number * self._UNITS[unit])
        except OverflowError:
            self.fail(
                f"{value!r} is longer than Python can count (about 2.7 million years)", param, ctx
            )


class _Time(click.ParamType):  # type: ignore[type-arg, unused-ignore]
    name = "time"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            parsed = parse_time(str(value))
        except ValueError:
            self.fail(f"{value!r} is not an ISO 8601 time such as 2025-01-15T14:30:00Z", param, ctx)
        try:
            return check_calendar(parsed, None)
        except InputError as exc:
            self.fail(exc.message, param, ctx)


def use_reporters(
    ctx: click.Context,
    *,
    as_json: bool = False,
    github_output: Path | None = None,
    github_summary: Path | None = None,
    dotenv: Path | None = None,
    template: str | None = None,
) -> list[Reporter]:
    """The reporters a command's options ask for; the boundary tells them of a failure."""
    root = ctx.find_root()
    chosen: list[Reporter] = [
        GitHubReporter(
            annotate=root.params.get("error_format") == "github",
            output=github_output,
            summary=github_summary,
            template=template,
        )
    ]
    if dotenv is not None:
        chosen.append(GitLabReporter(dotenv))
    chosen.append(reporters.REPORTERS_BY_NAME["json" if as_json else "text"]())
    root.meta[_REPORTERS] = chosen
    return chosen


_REPORTERS = "context_handoff.reporters"


def _failed(ctx: click.Context, exit_code: int, error: HandoffError | None) -> None:
    chosen = ctx.find_root().meta.get(_REPORTERS) or use_reporters(ctx)
    for reporter in chosen:
        reporter.failed(exit_code, error)


@contextmanager
def boundary(ctx: click.Context) -> Iterator[None]:
    """The one boundary handler: known errors are lines and exit codes, the rest exit 3."""
    try:
        yield
    except HandoffError as exc:
        exc = scrub_error(exc)  # whatever a message quotes, no credential is printed
        _failed(ctx, exc.exit_code, exc)
        ctx.exit(exc.exit_code)
    except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
        raise
    except BrokenPipeError:
        # the reader went away (`| head`); the work is done and written, so stay quiet
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        ctx.exit(ExitCode.OK)
    except Exception as exc:
        workflow_commands.say(
            f"error: unexpected error ({type(exc).__name__}: "
            f"{scrub_text(str(exc))}); rerun with --traceback and report it",
            err=True,
        )
        if ctx.find_root().params.get("traceback") or ctx.meta.get(_TRACEBACK):
            import traceback  # only here: it costs start-up time on every run

            traceback.print_exc(file=sys.stderr)
        _failed(ctx, ExitCode.INTERNAL, None)
        ctx.exit(ExitCode.INTERNAL)


_TRACEBACK = "context_handoff.traceback"
_TRACEBACK_HELP = "Show the traceback of an unexpected error."


def _want_traceback(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        ctx.meta[_TRACEBACK] = True  # meta is shared by the whole command line


class _Cli(click.Group):
    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        """Every subcommand takes --traceback too: it is typed after the subcommand as
        often as before it."""
        cmd.params.append(
            click.Option(
                ["--traceback"],
                is_flag=True,
                expose_value=False,
                callback=_want_traceback,
                help=_TRACEBACK_HELP,
            )
        )
        super().add_command(cmd, name)

    def invoke(self, ctx: click.Context) -> Any:
        with boundary(ctx):
            return super().invoke(ctx)

    def main(
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Click's own handling, except that bad usage is one ``error:`` line like every
        other bad input (click prints a usage block and two more lines)."""
        call = {"args": args, "prog_name": prog_name, "complete_var": complete_var, **extra}
        if not standalone_mode:
            return super().main(standalone_mode=False, **call)
        try:
            code = super().main(standalone_mode=False, **call)
        except click.UsageError as exc:
            where = exc.ctx.command_path if exc.ctx else "context-handoff"
            workflow_commands.say(f"error: {exc.format_message()} (see {where} --help)", err=True)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:  # as exc.show() prints it, on one line
            workflow_commands.say(f"Error: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(ExitCode.HANDOFF_FAILED)
        sys.exit(code if isinstance(code, int) else ExitCode.OK)


@click.group(cls=_Cli)
@click.version_option(package_name="context-handoff", prog_name="context-handoff")
@click.option("--traceback", is_flag=True, help=_TRACEBACK_HELP)
@click.option(
    "--error-format",
    type=click.Choice(["text", "github"]),
    default="text",
    help="github: also print each problem as a GitHub annotation (on stdout).",
)
def cli(traceback: bool, error_format: str) -> None:
    """Turn an orchestrator's state into a budget-guaranteed handoff payload."""


def encoding_option(
    what: str = "", *, payload_default: bool = False
) -> Callable[[_Command], _Command]:
    """The one --encoding option: a payload's own, or the default encoding."""
    default = None if payload_default else defaults.DEFAULT_ENCODING
    shown = (
        f"{defaults.DEFAULT_ENCODING}, or the payload's own"
        if payload_default
        else defaults.DEFAULT_ENCODING
    )
    return click.option(
        "--encoding",
        type=click.Choice(defaults.ENCODINGS),
        default=default,
        help=f"Tokenizer encoding{what}. [default: {shown}]",
    )


def state_option(help_text: str) -> Callable[[_Command], _Command]:
    """The one --state option (a file or a folder); only its help differs by command."""
    return click.option(
        "--state",
        "--state-file",
        "state",
        type=click.Path(path_type=Path),
        default=None,
        help=help_text,
    )


def level_option(
    help_text: str, *, choices: Sequence[str] = defaults.LEVEL_CHOICES
) -> Callable[[_Command], _Command]:
    """The one --level option."""
    return click.option(
        "--level",
        type=click.Choice(choices),
        default=defaults.DEFAULT_LEVEL,
        show_default=True,
        help=help_text,
    )


def budget_option(help_text: str) -> Callable[[_Command], _Command]:
    """The one --budget option: a positive token count, or the level's own."""
    return click.option("--budget", type=click.IntRange(min=1), default=None, help=help_text)


github_output_option = click.option(
    "--github-output",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Append step outputs to this file (GitHub Actions' $GITHUB_OUTPUT).",
)


@cli.command()
@state_option(
    "The state: a file (JSON; YAML, Markdown or JSONL by suffix) or a folder "
    "(Backlog.md's backlog/, Conductor's conductor/, a spec folder). "
    "[default: the one task file of a known format here (of --format's "
    "format, when named), see docs/formats.md]"
)
@click.option(
    "--format",
    "input_format",
    default=defaults.AUTO,
    show_default=True,
    metavar="|".join(formats.builtin_format_names()),
    help="The state's format; auto: by content (never by name). Installed "
    "packages may add formats.",
)
@click.option(
    "--tag",
    default=None,
    help="Task Master: the tag to read. [default: currentTag in "
    ".taskmaster/state.json, else master]",
)
@level_option("How much to carry; auto: the richest level --budget affords.")
@budget_option(
    "Token budget. [default: "
    + " / ".join(f"{b} {lvl}" for lvl, b in defaults.BUDGETS.items())
    + "]"
)
@encoding_option(" the budget is counted in")
@click.option(
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path(defaults.PAYLOAD_FILE),
    show_default=True,
    help="Where to write the payload (atomically).",
)
@click.option(
    "--now",
    type=_Time(),
    default=None,
    help="The time to stamp (ISO 8601); default SOURCE_DATE_EPOCH, else the clock.",
)
@click.option(
    "--max-age",
    type=_Duration(),
    default=None,
    help="Fail (exit 1) when the state is older than this: 90m, 6h, 2d.",
)
@click.option(
    "--committed-at",
    type=_Time(),
    default=None,
    help="When the state has no metadata.last_updated: its last change (ISO 8601) "
    "for --max-age. [default on a CI runner: the file's last git commit; "
    "elsewhere, or without git: its mtime]",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path(defaults.REPORT_FILE),
    show_default=True,
    help="Where to write the Markdown report (atomically).",
)
@click.option("--no-report", is_flag=True, help="Write only the payload.")
@click.option(
    "--since",
    type=click.Path(path_type=Path),
    default=None,
    help="An earlier handoff's snapshot (or an earlier copy of the state: a file, "
    "or a folder such as backlog/ or conductor/): the payload and "
    "report say what changed since. A missing file is a first run: no changes. "
    "A snapshot is input: checked against its schema (context-handoff schema "
    "snapshot), redacted and shortened like the state.",
)
@click.option(
    "--snapshot",
    "snapshot_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Also write this handoff's snapshot here, for the next run's --since "
    "(a few bytes a task; never sent to the model).",
)
@click.option(
    "--template",
    default=None,
    help="Report template: a built-in name (standard, minimal, error_recovery, "
    "multiday_resumption) or a .md.j2 / .md file. [default: by level]",
)
@click.option("--no-redact", is_flag=True, help="Keep credential-like values (not advised).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@github_output_option
@click.option(
    "--github-summary",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Append the report to this file, cut to fit its 1 MiB (GitHub Actions' "
    "$GITHUB_STEP_SUMMARY); a failure appends a short note instead.",
)
@click.option(
    "--dotenv",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write CONTEXT_HANDOFF_* variables for later jobs (a GitLab dotenv report).",
)
@click.option(
    "--metrics-file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write Prometheus metrics in the node-exporter textfile format "
    "(needs context-handoff[metrics]).",
)
@click.pass_context
def generate(
    ctx: click.Context,
    state: Path | None,
    input_format: str,
    tag: str | None,
    level: str,
    budget: int | None,
    encoding: str,
    output: Path,
    now: datetime | None,
    max_age: timedelta | None,
    committed_at: datetime | None,
    report_path: Path,
    no_report: bool,
    since: Path | None,
    snapshot_path: Path | None,
    template: str | None,
    no_redact: bool,
    as_json: bool,
    github_output: Path | None,
    github_summary: Path | None,
    dotenv: Path | None,
    metrics_file: Path | None,
) -> None:
    """Generate a handoff payload from the orchestrator state (or Task Master's tasks.json)."""
    _one_shot()
    chosen = use_reporters(
        ctx,
        as_json=as_json,
        github_output=github_output,
        github_summary=github_summary,
        dotenv=dotenv,
        template=template,
    )
    if no_redact:
        click.echo(
            "warning: --no-redact: credentials in the state will be written as they are", err=True
        )
    options = pipeline.GenerateOptions(
        state=state if state is not None else formats.discover_state(Path(), input_format),
        level=level,
        budget=budget,
        encoding=encoding,
        now=now,
        max_age=max_age,
        redact=not no_redact,
        format=input_format,
        tag=tag,
        committed_at=committed_at,
        since=since,
    )
    report_to = None if no_report else report_path
    check_destinations(
        {
            "--output": output,
            "--report": report_to,
            "--dotenv": dotenv,
            "--metrics-file": metrics_file,
            "--github-output": github_output,
            "--github-summary": github_summary,
            "--snapshot": snapshot_path,
        },
        appended={"--github-output", "--github-summary"},
        inputs={"the state file": options.state},
    )
    if dotenv is not None:  # before the payload and report are replaced
        check_dotenv_value("PAYLOAD", str(output))
    with recording_metrics(metrics_file) as record:
        generated = pipeline.generate(options)
        report = pipeline.write_outputs(
            generated, output, report_to, template, snapshot_path=snapshot_path
        )
        record(generated.payload)
    done = reporters.Written(generated, output, report_to, report, snapshot_path)
    for reporter in chosen:
        reporter.generated(done)


@cli.command(name="validate")
@click.argument("payload", type=click.Path(path_type=Path, dir_okay=False))
@budget_option("Token budget. [default: the payload's meta.budget]")
@encoding_option(payload_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as JSON.")
@github_output_option
@click.pass_context
def validate_command(
    ctx: click.Context,
    payload: Path,
    budget: int | None,
    encoding: str | None,
    as_json: bool,
    github_output: Path | None,
) -> None:
    """Check a payload against its level's schema and its token budget (exit 1 if invalid)."""
    check_destinations(
        {"--github-output": github_output},
        appended={"--github-output"},
        inputs={"the payload": payload},
    )
    chosen = use_reporters(ctx, as_json=as_json, github_output=github_output)
    check = payload_file.check_payload(payload, budget=budget, encoding=encoding)
    for reporter in chosen:
        reporter.checked(check)
    if not check.valid:
        sys.exit(ExitCode.HANDOFF_FAILED)


@cli.command()
@click.argument("payload", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--template",
    default=None,
    help="A built-in name (standard, minimal, error_recovery, multiday_resumption) or "
    "a .md.j2 (sandboxed Jinja2) or .md ({placeholder}) file. [default: by level]",
)
@click.option(
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write the report here (atomically) instead of to stdout.",
)
@click.option(
    "--max-chars",
    type=click.IntRange(min=200),
    default=None,
    help="Cut whole sections, least important first, to stay within N characters "
    "(a job summary holds 1 MiB, an issue body 65,536).",
)
@encoding_option(payload_default=True)
def report(
    payload: Path,
    template: str | None,
    output: Path | None,
    max_chars: int | None,
    encoding: str | None,
) -> None:
    """Render a payload as a Markdown report for people."""
    check_destinations({"--output": output}, inputs={"the payload": payload})
    rendered = render.render_report(
        payload_file.report_input_from_file(payload, encoding), template, max_chars
    )
    if output is not None:
        write_atomically(output, rendered.text)
    reporters.TextReporter().rendered(rendered, output, max_chars)


@cli.command()
@click.argument("tracker", type=click.Choice(TRACKERS))
@click.option(
    "--status",
    type=click.Choice(["failure", "success"]),
    required=True,
    help="The handoff's result: failure opens or updates the issue, success closes it.",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="The Markdown report to put in the issue (cut to fit).",
)
@click.option(
    "--label",
    default="context-handoff",
    show_default=True,
    help="The label that marks these issues (created if missing).",
)
@click.option(
    "--fingerprint",
    default=None,
    help="Tells this job's issue from others with the label. [default: from the "
    "repository, workflow and job]",
)
@click.option("--title", default=None, help="The issue's title.")
@click.option("--artifact-url", default=None, help="A link to the uploaded payload and report.")
@click.option("--close-on-success/--no-close-on-success", default=True, show_default=True)
@click.option(
    "--timeout",
    type=click.FloatRange(min=1, max=3600),
    default=30,
    show_default=True,
    help="Give up (a notice) after this many seconds in all, retries included.",
)
def notify_command(
    tracker: str,
    status: str,
    report_path: Path | None,
    label: str,
    fingerprint: str | None,
    title: str | None,
    artifact_url: str | None,
    close_on_success: bool,
    timeout: float,
) -> None:
    """Open, update or close the issue that tracks a failing handoff.

    GitHub: GITHUB_API_URL, GITHUB_REPOSITORY, GITHUB_TOKEN. GitLab: CI_API_V4_URL,
    CI_PROJECT_ID and the token in the variable CONTEXT_HANDOFF_TOKEN_VARIABLE names.
    A refusal (no token, no permission, a fork) or an API failure (errors, rate limits,
    answers of the wrong shape, no answer within --timeout) is a notice: it never changes
    the handoff's own result. The token is only ever sent to the API's own origin.
    """
    from . import notify  # requests costs ~60 ms of start-up that generate does not need

    outcome = notify.run_notify(
        tracker,
        os.environ,
        status=status,
        label=label,
        fingerprint=fingerprint,
        title=title,
        report_path=report_path,
        artifact_url=artifact_url,
        close_on_success=close_on_success,
        deadline_seconds=timeout,
    )
    github_output = os.environ.get("GITHUB_OUTPUT")
    GitHubReporter(output=Path(github_output) if github_output else None).notified(outcome)
    reporters.TextReporter().notified(outcome, os.environ.get("GITHUB_ACTIONS") == "true")


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False))
@encoding_option()
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
def tokens(files: tuple[Path, ...], encoding: str, as_json: bool) -> None:
    """Count the exact tokens of files."""
    counts = {str(path): payload_file.count_file_tokens(path, encoding) for path in files}
    reporters.REPORTERS_BY_NAME["json" if as_json else "text"]().counted(encoding, counts)


@cli.command()
def discover() -> None:
    """Print the state generate reads when --state is not given (exit 2 if none, or several)."""
    click.echo(formats.discover_state())


SCHEMAS = {
    "state": "the orchestrator's state file",
    **{level: f"a {level} payload" for level in defaults.LEVELS},
    "taskmaster": "one tag of Task Master's tasks.json",
    "beads": "beads' issues.jsonl, read as the list of its lines",
    "bmad": "BMAD's sprint-status.yaml",
    "ralph": "Ralph's prd.json",
    "snapshot": "what generate --snapshot writes and --since reads",
}


@cli.command()
@click.argument("name", type=click.Choice(SCHEMAS), required=False)
def schema(name: str | None) -> None:
    """Print a JSON Schema: the state, a payload level, an input format read as JSON
    (a Task Master tag, beads' issues, BMAD's sprint status, Ralph's prd.json), or the
    snapshot --since reads.

    Without NAME, list the names."""
    if name is None:
        width = max(map(len, SCHEMAS))
        click.echo("usage: context-handoff schema NAME, where NAME is one of:")
        for known, what in SCHEMAS.items():
            click.echo(f"  {known:<{width}}  {what}")
        return
    click.echo(json.dumps(validate.load_schema(name), indent=2, ensure_ascii=False))


@cli.command()
@click.option(
    "--state-root",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    required=True,
    help="Only state files under this folder can be asked for.",
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
def serve(state_root: Path, host: str, port: int) -> None:
    """Serve the web API (needs context-handoff[web]): /api/handoff, /healthz, /metrics, /docs."""
    try:
        import uvicorn

        from .web import create_app
    except ImportError as exc:
        raise InputError(
            f"serve needs the web extra ({exc.name} is missing): pip install 'context-handoff[web]'"
        ) from None
    uvicorn.run(
        create_app(state_root),
        host=host,
        port=port,
        timeout_graceful_shutdown=defaults.SHUTDOWN_SECONDS,
    )


@cli.command(name="mcp")
@click.option(
    "--root",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    default=None,
    help="The project folder: the state is found in it, and no "
    "path leads out of it. [default: the working directory]",
)
@state_option(
    "The state, inside the project folder: a file or a folder, as generate "
    "takes. [default: discovered there on every call, as generate does]"
)
@level_option("The handoff's level when a call names none.")
@budget_option("The handoff's token budget when a call names none. [default: the level's]")
@encoding_option(" the budgets are counted in")
@click.option(
    "--page-tokens",
    type=click.IntRange(min=200),
    default=2000,
    show_default=True,
    help="Most tokens in one page of the more tool.",
)
def mcp_command(
    root: Path | None,
    state: Path | None,
    level: str,
    budget: int | None,
    encoding: str,
    page_tokens: int,
) -> None:
    """Serve the handoff to an agent over MCP (stdio; needs context-handoff[mcp]).

    Tools: handoff(level?, budget?, since?), more(section, offset?, limit?, level?,
    budget?, since?, handoff_id?), task(id), check_reply(reply); resources
    handoff://payload and handoff://report.
    The state is read fresh on every call and never written; paths stay inside the
    project folder.
    """
    try:
        from .mcp_server import serve
    except ImportError as exc:
        missing = (exc.name or "mcp").split(".")[0]
        raise InputError(
            f"mcp needs the mcp extra ({missing} is missing): pip install 'context-handoff[mcp]'"
        ) from None
    from .session import SessionOptions

    serve(
        SessionOptions(
            root=root or Path.cwd(),
            state=state,
            level=level,
            budget=budget,
            encoding=encoding,
            page_tokens=page_tokens,
        )
    )


@cli.group()
def hook() -> None:
    """Claude Code's session hooks: the handoff as the next session's first context."""


hook_state_option = state_option(
    "The state, inside the project folder: a file or a folder, as "
    "generate takes. [default: discovered]"
)
hook_snapshot_option = click.option(
    "--snapshot",
    "snapshot",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path(".context-handoff/snapshot.json"),
    show_default=True,
    help="The snapshot pre-compact writes and session-start compares with (inside the "
    "project folder).",
)


@hook.command(name="session-start")
@hook_state_option
@level_option("The handoff's level.", choices=defaults.LEVELS)
@budget_option(
    "Tokens for the whole context: frame, payload and resume request; below "
    "the frame's own (about 200) the context is the note saying so. "
    "[default: the level's budget]"
)
@hook_snapshot_option
def hook_session_start(state: Path | None, level: str, budget: int | None, snapshot: Path) -> None:
    """SessionStart: read the hook input (JSON) on stdin, print the hook output whose
    additionalContext is the handoff for the model, and the exact more call for each
    section the budget cut. The project is $CLAUDE_PROJECT_DIR, else the input's cwd.
    Fails open: a missing or broken state gives a one-line note as context, and exit 0;
    an unreadable snapshot, the handoff without what changed and a line saying so."""
    from . import hooks

    _one_shot()
    options = hooks.HookOptions(state=state, level=level, budget=budget, snapshot=snapshot)
    click.echo(hooks.session_start(sys.stdin.read(), options))


@hook.command(name="pre-compact")
@hook_state_option
@hook_snapshot_option
def hook_pre_compact(state: Path | None, snapshot: Path) -> None:
    """PreCompact: write the snapshot, so the handoff after the compaction says what
    changed. Fails open: a failure is a one-line note on stderr, and exit 0."""
    from . import hooks

    _one_shot()
    problem = hooks.pre_compact(sys.stdin.read(), hooks.HookOptions(state=state, snapshot=snapshot))
    if problem is not None:
        click.echo(problem, err=True)


@cli.command(name="check-reply")
@click.option(
    "--payload",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="The payload the reply answers.",
)
@click.argument("reply", type=click.Path(path_type=Path, dir_okay=False, allow_dash=True))
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as JSON.")
@click.option(
    "--github-summary",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Append the verdict to this file (GitHub Actions' $GITHUB_STEP_SUMMARY).",
)
def check_reply_command(
    payload: Path, reply: Path, as_json: bool, github_summary: Path | None
) -> None:
    """Check a session's CONFIRMED - ... reply (a file, or - for stdin) against the
    payload: which of phase, active task and blockers it names, misses or contradicts.
    Exit 0 consistent, 1 with one line a problem, 2 bad input."""
    from . import check_reply

    check_destinations(
        {"--github-summary": github_summary},
        appended={"--github-summary"},
        inputs={"the payload": payload},
    )
    stdin = sys.stdin.buffer.read() if str(reply) == "-" else None
    verdict = check_reply.check_reply_files(payload, reply, stdin)
    if as_json:
        click.echo(json.dumps(verdict.as_json(), ensure_ascii=False))
    else:
        for line in verdict.lines():
            click.echo(workflow_commands.one_line(line))
    if github_summary is not None:
        with github_summary.open("a", encoding="utf-8") as summary:
            summary.write(check_reply.verdict_markdown(verdict))
    if not verdict.consistent:
        sys.exit(ExitCode.HANDOFF_FAILED)


def _one_shot() -> None:
    """A command that reads one state and ends: the cyclic collector stays off to the
    end. The pipeline pauses it while it reads (a state allocates millions of objects
    and no cycles); turned on again, its next passes would walk every one of them
    still alive (0.15 s at 100,000 tasks) in a process about to exit. The long-running
    commands (mcp, serve) keep it."""
    gc.disable()


def main() -> None:
    cli(prog_name="context-handoff")
