"""``python -m context_generator``: the original command line, on context-handoff.

    python -m context_generator --state-file .orchestrator_state.json \\
        --output context_payload.json --level standard --show-tokens

Writes the payload only (``context-handoff generate`` also writes the report); the
token count shown is exact, not an estimate. Exit codes are context-handoff's.
"""

from __future__ import annotations

from pathlib import Path

import click

from context_handoff import ContextPayloadGenerator, defaults
from context_handoff.cli import boundary


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--state-file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path(defaults.STATE_FILE),
    show_default=True,
    help="Path to the orchestrator state file.",
)
@click.option(
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path(defaults.PAYLOAD_FILE),
    show_default=True,
    help="Output file path.",
)
@click.option(
    "--level",
    type=click.Choice(defaults.LEVELS),
    default=defaults.DEFAULT_LEVEL,
    show_default=True,
    help="Compression level.",
)
@click.option("--show-tokens", is_flag=True, help="Display the exact token count.")
@click.option("--traceback", is_flag=True, hidden=True)
@click.pass_context
def main(
    ctx: click.Context,
    state_file: Path,
    output: Path,
    level: str,
    show_tokens: bool,
    traceback: bool,
) -> None:
    """Generate AI session handoff context from orchestrator state."""
    with boundary(ctx):
        generator = ContextPayloadGenerator(state_file)
        path = generator.save_context(output, level)
        payload = generator.last.payload if generator.last else None
        click.echo("✓ Context generated successfully")
        click.echo(f"  Level: {level}")
        click.echo(f"  Output: {path}")
        if show_tokens and payload is not None:
            click.echo(f"  Tokens: {payload.tokens} ({payload.encoding}, budget {payload.budget})")


if __name__ == "__main__":
    main(prog_name="python -m context_generator")
