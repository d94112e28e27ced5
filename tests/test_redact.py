"""Secrets never reach a payload: a test per rule, and every rule planted everywhere."""

from __future__ import annotations

import json

import pytest

from context_handoff import pipeline
from context_handoff.redact import Redactor

# Each value is fake, built to the shape the rule detects.
SECRETS = {
    "github_token": "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8",
    "github_pat": "github_pat_" + "11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
    "aws_access_key_id": "AKIA" + "IOSFODNN7EXAMPLE",
    "slack_token": "xoxb-" + "123456789012-abcdefghijkl",
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "private_key": "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA75\n-----END RSA PRIVATE KEY-----",
    "bearer_token": "Bearer abcdef1234567890.ghijkl",
    "url_password": "postgres://admin:s3cr3tP4ss@db.internal:5432/app",
    "password_assignment": "DB_PASSWORD=hunter2hunter2",
}
LEAKS = {
    "github_token": SECRETS["github_token"], "github_pat": SECRETS["github_pat"][12:],
    "aws_access_key_id": "IOSFODNN7EXAMPLE", "slack_token": "abcdefghijkl",
    "jwt": "dozjgNryP4J3jVmNHl0w5N", "private_key": "MIIEpAIBAAKCAQEA75",
    "bearer_token": "abcdef1234567890", "url_password": "s3cr3tP4ss",
    "password_assignment": "hunter2hunter2",
}


@pytest.mark.parametrize("name", sorted(SECRETS))
def test_each_rule_redacts_its_kind(name):
    redactor = Redactor()
    out = redactor.scrub(f"before {SECRETS[name]} after")
    assert LEAKS[name] not in out
    assert "[REDACTED:" in out and out.startswith("before ")
    assert sum(redactor.counts.values()) == 1


def test_what_the_rules_keep():
    redactor = Redactor()
    assert redactor.scrub("postgres://admin:pw12@db/x") == "postgres://admin:[REDACTED:url_password]@db/x"
    assert redactor.scrub("Authorization: Bearer abcdef1234567890") == (
        "Authorization: Bearer [REDACTED:bearer_token]")
    assert redactor.scrub("task_038_security_scan failed: Module 'bandit' not found") == (
        "task_038_security_scan failed: Module 'bandit' not found")


def test_fields_named_like_credentials():
    doc = {"tasks": {"rotate_api_key": {"status": "done", "name": "Rotate", "api_key": "plain",
                                        "auth": {"user": "u", "pass": "p"}, "author": "Ann"}}}
    Redactor().redact_document(doc)
    task = doc["tasks"]["rotate_api_key"]  # an id is not a field name
    assert task["api_key"] == "[REDACTED:secret_field]"
    assert task["auth"] == {"user": "[REDACTED:secret_field]", "pass": "[REDACTED:secret_field]"}
    assert task["author"] == "Ann" and task["name"] == "Rotate"


def _plant(example_doc):
    doc = example_doc
    values = list(SECRETS.values())
    doc["metadata"]["project_name"] = "Project " + values[0]
    for i, task in enumerate(doc["tasks"].values()):
        task["name"] = f"{task['name']} {values[i % len(values)]}"
    doc["tasks"]["task_038_security_scan"]["error"]["message"] = " ".join(values)
    err = doc["error_tracking"]["errors"][0]
    err["message"] = err["stack_trace"] = " | ".join(values)
    err["attempted_fixes"] = values
    for decision in doc["user_customizations"]["runtime_decisions"]:
        decision["prompt"] = "Use " + values[3] + "?"
        decision["rationale"] = values[4]
    doc["environment_config"]["runtime_environment"]["python"]["path"] = values[7]
    doc["environment_config"]["dependencies"]["missing_dependencies"] = values
    doc["filesystem_state"]["files"]["https://u:" + "pw9999@host/" + values[0]] = {
        "exists": False, "required_by": ["task_045_deploy_kubernetes"]}
    doc["context"]["token"] = "opaque-session-value"
    return doc


@pytest.mark.parametrize("level", ["minimal", "standard", "full"])
def test_planted_secrets_reach_no_payload(write_state, example_doc, level):
    path = write_state(_plant(example_doc))
    generated = pipeline.generate(pipeline.GenerateOptions(state=path, level=level, budget=8000))
    text = generated.payload.text
    for leak in [*LEAKS.values(), "pw9999"]:
        assert leak not in text, leak
    assert json.loads(text)["meta"]["redacted"]  # counted by kind
    assert "[REDACTED:" in text


def test_no_redact_keeps_values(write_state, example_doc):
    path = write_state(_plant(example_doc))
    options = pipeline.GenerateOptions(state=path, level="full", budget=8000, redact=False)
    generated = pipeline.generate(options)
    assert LEAKS["aws_access_key_id"] in generated.payload.text
    assert "redacted" not in generated.payload.data["meta"]  # nothing was redacted
