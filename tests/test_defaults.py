"""The defaults have one home (context_handoff.defaults); where they are restated for
users — action.yml, the GitLab template, the README, the CLI's help — they agree."""

from __future__ import annotations

import re

import yaml
from click.testing import CliRunner

from context_handoff import defaults
from context_handoff.cli import cli

from .conftest import ROOT

ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))["inputs"]
TEMPLATE = next(
    yaml.safe_load_all((ROOT / "templates" / "context-handoff.yml").read_text(encoding="utf-8"))
)["spec"]["inputs"]
LEVELS_AND_AUTO = list(defaults.LEVEL_CHOICES)


def _budget_figures(text: str) -> list[int]:
    return [int(n.replace(",", "")) for n in re.findall(r"\d[\d,]*", text)]


def test_the_action_restates_the_defaults() -> None:
    assert ACTION["level"]["default"] == defaults.DEFAULT_LEVEL
    assert ACTION["encoding"]["default"] == defaults.DEFAULT_ENCODING
    assert ACTION["output-dir"]["default"] == defaults.CI_OUTPUT_DIR
    assert _budget_figures(ACTION["budget"]["description"]) == list(defaults.BUDGETS.values())
    assert all(level in ACTION["level"]["description"] for level in LEVELS_AND_AUTO)
    assert all(name in ACTION["encoding"]["description"] for name in defaults.ENCODINGS)
    described = ACTION["state-file"]["description"]
    assert defaults.STATE_FILE in described and defaults.TASKMASTER_FILE in described


def test_the_gitlab_template_restates_the_defaults() -> None:
    assert TEMPLATE["level"]["default"] == defaults.DEFAULT_LEVEL
    assert TEMPLATE["level"]["options"] == LEVELS_AND_AUTO
    assert TEMPLATE["encoding"]["default"] == defaults.DEFAULT_ENCODING
    assert TEMPLATE["encoding"]["options"] == list(defaults.ENCODINGS)
    assert TEMPLATE["output-dir"]["default"] == defaults.CI_OUTPUT_DIR
    assert _budget_figures(TEMPLATE["budget"]["description"]) == list(defaults.BUDGETS.values())
    described = TEMPLATE["state-file"]["description"]
    assert defaults.STATE_FILE in described and defaults.TASKMASTER_FILE in described


def test_the_readme_and_the_help_state_the_budgets() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    line = next(line for line in readme.splitlines() if "for `minimal` / `standard`" in line)
    assert _budget_figures(line)[:3] == list(defaults.BUDGETS.values())
    help_text = " ".join(CliRunner().invoke(cli, ["generate", "--help"]).output.split())
    for level, budget in defaults.BUDGETS.items():
        assert f"{budget} {level}" in help_text
    assert f"[default: {defaults.DEFAULT_LEVEL}]" in help_text
    assert defaults.PAYLOAD_FILE in help_text and defaults.REPORT_FILE in help_text


def test_one_snapshot_file_name_everywhere() -> None:
    for restated in ("action.yml", "action/run.sh", "templates/context-handoff.yml"):
        text = (ROOT / restated).read_text(encoding="utf-8")
        names = set(re.findall(r"[\w.-]*snapshot[\w-]*\.json", text))
        assert names == {defaults.SNAPSHOT_FILE}, restated
