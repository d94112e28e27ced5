"""Write docs/cli.md from the CLI's own --help texts (the help is the reference).

python scripts/cli_docs.py          # rewrite docs/cli.md
python scripts/cli_docs.py --check  # exit 1 if it is out of date (tests run this)
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from click.testing import CliRunner

from context_handoff.cli import cli

DOC = Path(__file__).resolve().parent.parent / "docs" / "cli.md"


def render() -> str:
    runner = CliRunner()
    parts = [
        "# context-handoff command line\n",
        "Generated from `--help` by `scripts/cli_docs.py`; do not edit by hand.\n",
    ]
    commands = [""]
    if isinstance(cli, click.Group):
        for name in sorted(cli.commands):  # a group's own commands follow it (hook ...)
            sub = cli.commands[name]
            commands.append(name)
            if isinstance(sub, click.Group):
                commands += [f"{name} {inner}" for inner in sorted(sub.commands)]
    for name in commands:
        args = [*name.split(), "--help"] if name else ["--help"]
        result = runner.invoke(cli, args, prog_name="context-handoff", terminal_width=100)
        title = f"context-handoff {name}".strip()
        parts.append(f"## {title}\n\n```text\n{result.output.rstrip()}\n```\n")
    return "\n".join(parts)


def main() -> None:
    text = render()
    if "--check" in sys.argv:
        if not DOC.exists() or DOC.read_text(encoding="utf-8") != text:
            print(f"{DOC} is out of date: run python scripts/cli_docs.py", file=sys.stderr)
            sys.exit(1)
        return
    DOC.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
