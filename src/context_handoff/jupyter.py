"""``%load_ext context_handoff``, then ``%handoff [level] [--state PATH]`` in a notebook.

Generates and saves the payload, shows the report as Markdown with the token count,
and returns the context dict (``context = %handoff standard``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from IPython.display import Markdown, display

from . import defaults, formats, pipeline, render
from .errors import HandoffError


@magics_class
class HandoffMagics(Magics):
    @magic_arguments()
    @argument(
        "level", nargs="?", default=defaults.DEFAULT_LEVEL, help=", ".join(defaults.LEVEL_CHOICES)
    )
    @argument(
        "--state",
        default=None,
        help="the state file or folder (default: the one task file of a known format here)",
    )
    @argument("--format", default=defaults.AUTO, help=", ".join(formats.builtin_format_names()))
    @argument("--tag", default=None, help="Task Master: the tag to read")
    @argument("--output", default=defaults.PAYLOAD_FILE, help="where to save the payload")
    @argument("--budget", type=int, default=None, help="token budget")
    @line_magic
    def handoff(self, line: str) -> dict[str, Any]:
        """Generate a context handoff from the notebook."""
        args = parse_argstring(self.handoff, line)
        try:
            state = Path(args.state) if args.state else formats.discover_state()
            options = pipeline.GenerateOptions(
                state=state, level=args.level, budget=args.budget, format=args.format, tag=args.tag
            )
            generated = pipeline.generate(options)
            pipeline.write_payload(generated, Path(args.output))
            report = render.render_report(pipeline.report_input_of(generated.payload))
        except HandoffError as exc:  # one clear message in the notebook, no traceback
            raise UsageError("\n".join(exc.lines())) from None
        payload = generated.payload
        print(
            f"✓ Context generated ({payload.tokens} of {payload.budget} tokens, "
            f"{payload.level.value}) -> {args.output}"
        )
        display(Markdown(report.text))
        return payload.data


def load_ipython_extension(ipython: Any) -> None:
    ipython.register_magics(HandoffMagics)
