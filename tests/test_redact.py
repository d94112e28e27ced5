"""Secrets never reach a payload: a test per rule, and every rule planted everywhere."""

from __future__ import annotations

import copy
import json
import re

import pytest

from context_handoff import pipeline, redact
from context_handoff.errors import InputError
from context_handoff.load import parse_document
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
    "aws_secret_access_key": "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "gitlab_token": "glpat-" + "xY9zW8vU7tS6rQ5pO4nM",
    "stripe_key": "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc",
    "openai_key": "sk-proj-" + "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z" * 2,
    "anthropic_key": "sk-ant-api03-" + "Zx8cVb7nM6lK5jH4gF3dS2aQ1wE0rT9y" * 3 + "AA",
    "google_api_key": "AIza" + "SyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q",
    "azure_storage_key": "AccountKey="
    + "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==",
    "npm_token": "npm_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",
    "huggingface_token": "hf_" + "QwErTyUiOpAsDfGhJkLzXcVbNmQwErTyUi",
    "basic_auth": "Authorization: Basic " + "YWRtaW46czNjcjN0LXBhc3M=",
    "url_password_no_user": "redis://:" + "r3disPassw0rd@cache:6379/0",
    "url_password_slash": "postgres://app:" + "pa/ss/w0rd@db:5432/app",
    "quoted_password": 'password: "' + 'correct horse battery staple"',
    "json_pair": '{"password": "' + 'tr0ub4dor and 3"}',
    "secret_key": "SECRET_KEY=" + "django-insecure-9x8y7z",
    "glued_token": "DEPLOY_" + "ghp_" + "Z1y2X3w4V5u6T7s8R9q0P1o2N3m4L5k6J7i8",
    # the remaining shapes of the providers above, then the providers beyond them
    "url_password_at": "postgres://app:" + "p@ss@w0rd@db.internal:5432/app",
    "slack_app_token": "xapp-" + "1-A0B1C2D3E4F5-1234567890123-0a1b2c3d4e5f6a7b8c9d",
    "slack_config_token": "xoxe.xoxp-" + "1-" + "Q2w3E4r5T6y7U8i9O0p1" * 8,
    "slack_refresh_token": "xoxe-" + "1-" + "M1n2B3v4C5x6Z7l8K9j0" * 7,
    "slack_workflow_webhook": "https://hooks.slack.com/"
    + "workflows/T0AB12CD3/A0CD34EF5/123456789/Qx7Lm2Np9Rs4Tv6Wy8Za1Bc3",
    "gitlab_feed_token": "glft-" + "Kd8Jq2Wm5Xn7Bv4Cz1Lp",
    "gitlab_oauth_secret": "gloas-" + "7d1c" * 16,
    "gitlab_runner_registration": "GR1348941" + "aB3dE5fG7hJ9kL1mN3pQ",
    "gitlab_routable_pat": "glpat-" + "Xy7Zw8Vu6Ts5Rq4Po3Nm2Lk1Ji0" + ".01" + "abcd123",
    "huggingface_org_token": "api_org_" + "ZyXwVuTsRqPoNmLkJiHgFeDcBaZyXwVuTs",
    "unsigned_jwt": "eyJhbGciOiJub25lIn0" + ".eyJzdWIiOiJ1c2VyLTEyMyIsInJvbGUiOiJhZG1pbiJ9.",
    "db_pass": "DB_PASS=" + "Tr1cky-Pa55",
    "curl_user": "curl -fsS -u " + "deploy:Wh1sper-42 https://api.example.test/v1",
    "twilio_key": "SK" + "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
    "pypi_token": "pypi-"
    + "AgEIcHlwaS5vcmc"
    + "CJDk5ZDdhNDc0LWM4NzQtNGQ5Yi1hMzE1LTg4YzY4ZjYwNzY5YgACKlsz",
    "azure_client_secret": "client_id=abc " + "xQ8" + "7Q~" + "mN3bV5cX7zL9kJ1hG3fD5sA7pO9iU1yT",
    "age_secret_key": "AGE-SECRET-KEY-1"
    + "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L"
    + "QPZRY9X8GF2TVDW0S3JN54KHCE",
    "stripe_webhook_secret": "whsec_" + "Mk29Fhq7Pz3Lw8Xc5Vb1Nn6Rt4Yy0Ue2",
    "anthropic_oauth_token": "sk-ant-oat01-" + "Pq9Rs8Tu7Vw6Xy5Za4Bc3De2Fg1Hi0Jk" * 2,
    "docker_auth": '{"auths": {"registry.example.test": {"auth": "'
    + 'ZGVwbG95OnMzY3JldC1wdw=="}}}',
    "authorization_token": "Authorization: Token " + "8f2c9a7e1b3d5f4a6c0e",
    "mysql_password": "mysql -h db -u root -p" + "R00t-Pa55w0rd app",
    "password_option": "deploy --user ops --password " + "Sup3r-S3cret --yes",
}
LEAKS = {
    "github_token": SECRETS["github_token"],
    "github_pat": SECRETS["github_pat"][12:],
    "aws_access_key_id": "IOSFODNN7EXAMPLE",
    "slack_token": "abcdefghijkl",
    "jwt": "dozjgNryP4J3jVmNHl0w5N",
    "private_key": "MIIEpAIBAAKCAQEA75",
    "bearer_token": "abcdef1234567890",
    "url_password": "s3cr3tP4ss",
    "password_assignment": "hunter2hunter2",
    "aws_secret_access_key": "wJalrXUtnFEMI",
    "gitlab_token": "xY9zW8vU7tS6rQ5pO4nM",
    "stripe_key": "4eC39HqLyjWDarjtT1zdp7dc",
    "openai_key": "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z",
    "anthropic_key": "Zx8cVb7nM6lK5jH4gF3dS2aQ1wE0rT9y",
    "google_api_key": "SyA1b2C3d4E5f6G7h8I9j0",
    "azure_storage_key": "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1",
    "npm_token": "a1B2c3D4e5F6g7H8i9J0",
    "huggingface_token": "QwErTyUiOpAsDfGhJkLz",
    "basic_auth": "YWRtaW46czNjcjN0LXBhc3M",
    "url_password_no_user": "r3disPassw0rd",
    "url_password_slash": "pa/ss/w0rd",
    "quoted_password": "horse battery",
    "json_pair": "4dor and",
    "secret_key": "django-insecure",
    "glued_token": "Z1y2X3w4V5u6T7s8R9q0",
    "url_password_at": "ss@w0rd",
    "slack_app_token": "0a1b2c3d4e5f6a7b8c9d",
    "slack_config_token": "Q2w3E4r5T6y7U8i9O0p1",
    "slack_refresh_token": "M1n2B3v4C5x6Z7l8K9j0",
    "slack_workflow_webhook": "Qx7Lm2Np9Rs4Tv6Wy8Za1Bc3",
    "gitlab_feed_token": "Kd8Jq2Wm5Xn7Bv4Cz1Lp",
    "gitlab_oauth_secret": "7d1c7d1c7d1c",
    "gitlab_runner_registration": "aB3dE5fG7hJ9kL1mN3pQ",
    "gitlab_routable_pat": "01abcd123",
    "huggingface_org_token": "ZyXwVuTsRqPoNmLkJiHg",
    "unsigned_jwt": "eyJzdWIiOiJ1c2VyLTEyMyIsInJvbGUiOiJhZG1pbiJ9",
    "db_pass": "Tr1cky-Pa55",
    "curl_user": "Wh1sper-42",
    "twilio_key": "0f1e2d3c4b5a69788796",
    "pypi_token": "CJDk5ZDdhNDc0LWM4NzQt",
    "azure_client_secret": "mN3bV5cX7zL9kJ1hG3fD5",
    "age_secret_key": "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L",
    "stripe_webhook_secret": "Mk29Fhq7Pz3Lw8Xc5Vb1",
    "anthropic_oauth_token": "Pq9Rs8Tu7Vw6Xy5Za4Bc3De2Fg1Hi0Jk",
    "docker_auth": "ZGVwbG95OnMzY3JldC1wdw",
    "authorization_token": "8f2c9a7e1b3d5f4a6c0e",
    "mysql_password": "R00t-Pa55w0rd",
    "password_option": "Sup3r-S3cret",
}


@pytest.mark.parametrize("name", sorted(SECRETS))
def test_each_rule_redacts_its_kind(name):
    redactor = Redactor()
    out = redactor.scrub(f"before {SECRETS[name]} after")
    assert LEAKS[name] not in out
    assert "[REDACTED:" in out and out.startswith("before ")
    assert sum(redactor.counts.values()) == 1


@pytest.mark.parametrize(
    "text",
    [
        "tokens: 1200",
        "tokenizer: o200k_base",
        "passwordless: true",
        "secret: true",
        "basic authentication failed",
        "http://host:8080/path",
        "max_tokens: 4096",
        "Module 'bandit' not found",
        "sha 3f786850e387550fdab836ed7e6dc881de23001b",
        "first pass: ok",
        "bypass=1",
        "passes: 3",
        "mysql -P 3306 -p app",
        "curl -u admin",
        "deploy --password-file /run/secrets/pw",
        "mailto:ann@example.test",
        "https://example.test/users/@me",
        "Authorization: required",
    ],
)
def test_ordinary_text_is_kept(text):
    assert Redactor().scrub(text) == text


def test_two_ids_that_differ_only_in_a_secret_stay_two_tasks(write_state):
    a, b = "deploy ghp_" + "A" * 36, "deploy ghp_" + "B" * 36
    path = write_state(
        {"tasks": {a: {"status": "done"}, b: {"status": "pending", "dependencies": [a]}}}
    )
    state = pipeline.read_state(path)
    assert list(state.tasks) == [
        "deploy [REDACTED:github_token]",
        "deploy [REDACTED:github_token:2]",
    ]
    assert state.tasks["deploy [REDACTED:github_token:2]"].dependencies == (
        "deploy [REDACTED:github_token]",
    )
    assert state.redactions == {"github_token": 3}


def test_error_type_and_message_never_join_into_a_credential(write_state):
    path = write_state(
        {
            "tasks": {
                "db": {
                    "status": "failed",
                    "error": {"type": "DB_PASSWORD", "message": "hunter2hunter2"},
                }
            },
            "error_tracking": {
                "errors": [{"task_id": "db", "error_type": "API_TOKEN", "message": "tok3n-v4lue-x"}]
            },
        }
    )
    generated = pipeline.generate(pipeline.GenerateOptions(state=path, level="full"))
    text = generated.payload.text
    assert "hunter2hunter2" not in text and "tok3n-v4lue-x" not in text
    error = generated.payload.data["critical_context"]["errors"][0]
    assert error["type"] == "DB_PASSWORD" and error["message"] == "[REDACTED:secret_field]"


@pytest.mark.parametrize("error_format", ["text", "github"])
def test_an_invalid_state_prints_no_secret(write_state, error_format):
    from click.testing import CliRunner

    from context_handoff.cli import cli

    token = SECRETS["github_token"]
    path = write_state(
        {
            "tasks": {
                f"deploy {token}": {"status": f"done {token}"},
                "x": {"status": "done", "password": [SECRETS["stripe_key"]]},
            }
        }
    )
    result = CliRunner().invoke(
        cli,
        ["--error-format", error_format, "generate", "--state", str(path)],
        catch_exceptions=False,
    )
    assert result.exit_code == 2
    everything = result.stdout + result.stderr
    assert "::error" in everything or error_format == "text"
    assert LEAKS["github_token"] not in everything and LEAKS["stripe_key"] not in everything
    assert "[REDACTED:github_token]" in result.stderr


def test_what_the_rules_keep():
    redactor = Redactor()
    assert (
        redactor.scrub("postgres://admin:pw12@db/x")
        == "postgres://admin:[REDACTED:url_password]@db/x"
    )
    assert redactor.scrub("Authorization: Bearer abcdef1234567890") == (
        "Authorization: Bearer [REDACTED:bearer_token]"
    )
    assert redactor.scrub("s10_check_links failed: Module 'bandit' not found") == (
        "s10_check_links failed: Module 'bandit' not found"
    )


def test_fields_named_like_credentials():
    doc = {
        "tasks": {
            "rotate_api_key": {
                "status": "done",
                "name": "Rotate",
                "api_key": "plain",
                "auth": {"user": "u", "pass": "p"},
                "author": "Ann",
            }
        }
    }
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
    doc["tasks"]["s10_check_links"]["error"]["message"] = " ".join(values)
    err = doc["error_tracking"]["errors"][0]
    err["message"] = err["stack_trace"] = " | ".join(values)
    err["attempted_fixes"] = values
    for decision in doc["user_customizations"]["runtime_decisions"]:
        decision["prompt"] = "Use " + values[3] + "?"
        decision["rationale"] = values[4]
    doc["environment_config"]["runtime_environment"]["python"]["path"] = values[7]
    doc["environment_config"]["dependencies"]["missing_dependencies"] = values
    doc["filesystem_state"]["files"]["https://u:" + "pw9999@host/" + values[0]] = {
        "exists": False,
        "required_by": ["s16_switch_dns"],
    }
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


@pytest.mark.parametrize(
    "unit",
    [
        "a.",
        "-eyJ",
        "a://",
        "x://a:b:",
        "SG.",
        "token.",
        "a:b@",
        "curl -u ",
        "mysql ",
        "--pass ",
        "=_pass",
        "abC1Q~",
    ],
)
def test_long_hostile_strings_are_no_secrets(unit):
    """Rules that once took minutes on these (quadratic backtracking); how their time
    grows with the text is measured by the benchmark (make bench: redaction scaling)."""
    assert "[REDACTED" not in Redactor().scrub(unit * (400_000 // len(unit)))


def test_a_secret_in_a_long_invalid_value_is_not_cut_in_half(write_state):
    token = SECRETS["github_token"]
    for pad in range(270, 300, 3):  # the message is cut at 300 characters
        path = write_state(
            {"tasks": {"a": {"status": "done", "dependencies": "x" * pad + " " + token}}}
        )
        with pytest.raises(InputError) as caught:
            pipeline.read_state(path)
        assert not any(LEAKS["github_token"][4:20] in line for line in caught.value.lines())


# The fast proof that a document needs no change must never spare a secret: a document
# redacted through it reads exactly as the full walk leaves it.

ORDINARY = [
    "task_000476_provision_cluster",
    "Test billing (step 0)",
    "2024-11-07T03:50:00Z",
    "Échec de connexion — délai dépassé",
    "/project/artifacts/task_1.tar.gz",
]


def _full_walk(doc, monkeypatch):
    """``doc`` redacted by the full walk alone, with the counts it leaves."""
    with monkeypatch.context() as patch:
        patch.setattr(Redactor, "_is_plain", lambda self, doc: False)
        redactor = Redactor()
        return redactor.redact_document(doc), dict(redactor.counts)


def _both_ways(doc, monkeypatch):
    fast = Redactor()
    fast_doc = fast.redact_document(copy.deepcopy(doc))
    assert (fast_doc, dict(fast.counts)) == _full_walk(copy.deepcopy(doc), monkeypatch)
    return fast_doc


class Named(str):
    """A string subclass, as a Python caller's document may hold."""


PLACES = {
    "a task's name": lambda s: {"tasks": {"t1": {"name": s, "status": "pending"}}},
    "a task id": lambda s: {"tasks": {s: {"status": "done"}, "t2": {"dependencies": [s]}}},
    "a list of ids": lambda s: {"context": {"active_tasks": ["t1", s, "t3"]}},
    "a mixed list": lambda s: {"notes": [1, None, {"text": s}, [s], "x"]},
    "a field name": lambda s: {"metadata": {s: "value"}},
    "a deep value": lambda s: {"a": [{"b": [{"c": {"d": [[s]]}}]}]},
    "a string subclass": lambda s: {"tasks": {"t1": {"name": Named(s)}}},
    "beside a NUL": lambda s: {"notes": ["a\0b", s]},
    "a top-level list": lambda s: [s, "plain"],
}


@pytest.mark.parametrize("place", sorted(PLACES))
@pytest.mark.parametrize("name", sorted(SECRETS))
def test_a_planted_secret_is_redacted_as_the_full_walk_does(name, place, monkeypatch):
    doc = _both_ways(PLACES[place](f"x {SECRETS[name]} y"), monkeypatch)
    assert "[REDACTED:" in json.dumps(doc)


@pytest.mark.parametrize(
    "fields",
    [
        {"api_key": "plain"},
        {"api_key": ""},
        {"token_count": 1200, "password": None},
        {"tokens": {"input": 5, "output": 7}},
        {"auth": {"user": "u", "pass": ""}},
        {"auth": {"user": "u", "pass": "p"}},
        {"credentials": ["", [""], {"k": 1}]},
        {"credentials": ["", [""], {"k": "v"}]},
        {"secret": ["ok"], "name": "n"},
    ],
)
def test_fields_named_like_credentials_are_as_the_full_walk_leaves_them(fields, monkeypatch):
    doc = {"tasks": {"rotate_api_key": {"status": "done", **fields}}, "meta": dict(fields)}
    _both_ways(doc, monkeypatch)


def test_a_document_without_secrets_is_proven_so_without_the_walk(monkeypatch):
    doc = {"tasks": {text: {"name": text, "dependencies": ORDINARY} for text in ORDINARY}}
    expected = copy.deepcopy(doc)
    monkeypatch.setattr(Redactor, "_plan", lambda self, doc: pytest.fail("walked"))
    redactor = Redactor()
    assert redactor.redact_document(doc) == expected and not redactor.counts
    assert set(ORDINARY) <= redactor._clean  # the next call knows them


def test_a_secret_behind_a_json_escape_is_redacted():
    # "\u0041KIA..." is "AKIA...": the rules see decoded text, not the file's escapes
    data = b'{"tasks": {"t1": {"name": "key \\u0041KIAIOSFODNN7EXAMPLE", "note": "\\u0070assword=hunter2hunter2"}}}'
    doc = Redactor().redact_document(parse_document(data, "state.json"))
    task = doc["tasks"]["t1"]
    assert task["name"] == "key [REDACTED:aws_access_key_id]"
    assert "hunter2" not in task["note"]


@pytest.mark.parametrize("name", sorted(SECRETS))
def test_the_rules_a_text_is_searched_for_find_what_all_of_them_find(name):
    for text in (SECRETS[name], f"{SECRETS[name]} DB_PASSWORD=x1y2z3w4 {SECRETS['jwt']}"):
        kinds = redact._kinds_held(text)

        def found(pattern: re.Pattern[str], text: str = text) -> list[tuple[str | None, int, int]]:
            return [(m.lastgroup, m.start(), m.end()) for m in pattern.finditer(text)]

        assert found(redact._rules(kinds)) == found(redact._rules(tuple(redact.PATTERNS))) != []
