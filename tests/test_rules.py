"""The rules as data: matching (a table of globs × conditions × payloads), templates, validation
at save time, the YAML round trip with all-or-nothing import, and the dry run."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from automation.rules import (
    AutopublishAction,
    Condition,
    RulesError,
    RuleSpec,
    dry_run,
    dump_rules_yaml,
    load_rules_yaml,
    render,
    sample_event,
    validate_rule,
)

RELEASE = {
    "action": "published",
    "release": {"tag_name": "v2.3.0", "name": "Dark mode", "prerelease": False, "assets": 3},
    "commits": [{"id": "abc123", "message": "fix: typo"}, {"id": "def456"}],
    "labels": ["feature", "ui"],
    "repository": {"full_name": "acme/app", "stars": "1200"},
}


def rule(event: str, *conditions: dict[str, Any]) -> RuleSpec:
    return RuleSpec(
        name="r",
        event=event,
        conditions=[Condition.model_validate(c) for c in conditions],
        actions=[{"type": "notify", "template": "hi"}],
    )


@pytest.mark.parametrize(
    ("glob", "conditions", "event_type", "payload", "expected"),
    [
        ("github.release.*", [], "github.release.published", RELEASE, True),
        ("github.release.*", [], "github.push", RELEASE, False),
        ("github.*", [], "github.release.published", RELEASE, True),
        ("*", [], "rss.item", {}, True),
        ("rss.item", [], "rss.items", {}, False),
        ("github.release.published", [], "GITHUB.RELEASE.PUBLISHED", RELEASE, False),
        ("*", [{"path": "release.tag_name", "op": "equals", "value": "v2.3.0"}], "e", RELEASE, 1),
        ("*", [{"path": "release.tag_name", "op": "equals", "value": "v2.3"}], "e", RELEASE, 0),
        ("*", [{"path": "release.prerelease", "op": "equals", "value": False}], "e", RELEASE, 1),
        ("*", [{"path": "release.prerelease", "op": "equals", "value": "false"}], "e", RELEASE, 1),
        ("*", [{"path": "release.assets", "op": "equals", "value": "3"}], "e", RELEASE, 1),
        ("*", [{"path": "release.name", "op": "not_equals", "value": "x"}], "e", RELEASE, 1),
        ("*", [{"path": "release.nope", "op": "not_equals", "value": "x"}], "e", RELEASE, 1),
        ("*", [{"path": "release.name", "op": "contains", "value": "dark"}], "e", RELEASE, 1),
        ("*", [{"path": "labels", "op": "contains", "value": "ui"}], "e", RELEASE, 1),
        ("*", [{"path": "labels", "op": "contains", "value": "u"}], "e", RELEASE, 0),
        ("*", [{"path": "commits.0.id", "op": "equals", "value": "abc123"}], "e", RELEASE, 1),
        ("*", [{"path": "commits.-1.id", "op": "equals", "value": "def456"}], "e", RELEASE, 1),
        ("*", [{"path": "commits.5.id", "op": "exists"}], "e", RELEASE, 0),
        ("*", [{"path": "commits.1.message", "op": "exists", "value": False}], "e", RELEASE, 1),
        ("*", [{"path": "release.assets", "op": "gt", "value": 2}], "e", RELEASE, 1),
        ("*", [{"path": "release.assets", "op": "lt", "value": 3}], "e", RELEASE, 0),
        ("*", [{"path": "repository.stars", "op": "gt", "value": 1000}], "e", RELEASE, 1),
        ("*", [{"path": "release.name", "op": "gt", "value": 1}], "e", RELEASE, 0),
        (
            "*",
            [{"path": "release.tag_name", "op": "regex", "value": r"^v\d+\.\d+"}],
            "e",
            RELEASE,
            1,
        ),
        ("*", [{"path": "release.tag_name", "op": "regex", "value": "rc"}], "e", RELEASE, 0),
        ("*", [{"path": "release", "op": "exists"}], "e", {"release": None}, 1),
        ("*", [{"path": "a.b", "op": "equals", "value": 1}], "e", {"a": "not a dict"}, 0),
        (
            "github.release.*",
            [
                {"path": "release.prerelease", "op": "equals", "value": False},
                {"path": "release.tag_name", "op": "regex", "value": "^v2"},
            ],
            "github.release.published",
            RELEASE,
            True,
        ),
        (
            "github.release.*",
            [
                {"path": "release.prerelease", "op": "equals", "value": True},
                {"path": "release.tag_name", "op": "regex", "value": "^v2"},
            ],
            "github.release.published",
            RELEASE,
            False,
        ),
    ],
)
def test_rule_matching_table(
    glob: str, conditions: list[dict], event_type: str, payload: Any, expected: bool
) -> None:
    assert rule(glob, *conditions).matches(event_type, payload) is bool(expected)


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ({"path": "a", "op": "regex", "value": "(unclosed"}, "invalid regex"),
        ({"path": "a", "op": "regex"}, "regex needs a pattern"),
        ({"path": "a", "op": "gt", "value": "many"}, "gt needs a number"),
        ({"path": "a", "op": "equals"}, "equals needs a value"),
        ({"path": "a", "op": "matches", "value": 1}, "op"),
        ({"path": "", "op": "exists"}, "path"),
    ],
)
def test_bad_conditions_are_refused_when_saved(condition: dict, message: str) -> None:
    with pytest.raises(RulesError) as err:
        validate_rule(
            {
                "name": "broken",
                "event": "*",
                "conditions": [condition],
                "actions": [{"type": "notify", "template": "x"}],
            }
        )
    assert "rule 'broken'" in str(err.value)
    assert "conditions.0" in str(err.value)
    assert message in str(err.value)


def test_templates_fill_fields_and_leave_missing_ones_empty() -> None:
    rendered = render(
        "{payload.repository.full_name} {payload.release.tag_name}: {payload.release.body}"
        " — first commit {payload.commits.0.id} {literal}",
        RELEASE,
    )
    assert rendered.text == "acme/app v2.3.0:  — first commit abc123 {literal}"
    assert rendered.missing == ("release.body",)


@given(st.text(max_size=40))
def test_rendering_never_fails(template: str) -> None:
    assert render(template, RELEASE).text is not None


EXAMPLE = """
- name: release-draft
  event: github.release.published
  conditions:
    - {path: release.prerelease, op: equals, value: false}
    - {path: release.tag_name, op: regex, value: '^v\\d+'}
  actions:
    - type: draft
      template: "Announce {payload.release.name} ({payload.release.tag_name})"
    - type: notify
      template: "Release {payload.release.tag_name} drafted"
- name: blog-autopost
  event: rss.item
  enabled: false
  actions:
    - {type: autopublish, template: "{payload.title} {payload.link}", targets: [telegram, 3],
       delay: 30}
"""


def test_yaml_round_trip() -> None:
    specs = load_rules_yaml(EXAMPLE)
    assert [s.name for s in specs] == ["release-draft", "blog-autopost"]
    assert specs[1].enabled is False
    action = specs[1].actions[0]
    assert isinstance(action, AutopublishAction)
    assert action.targets == ["telegram", 3] and action.delay == 30
    document = dump_rules_yaml(specs)
    assert load_rules_yaml(document) == specs
    assert dump_rules_yaml(load_rules_yaml(document)) == document


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            "- name: a\n  event: x\n  actions: [{type: draft, template: t}]\n"
            "- name: b\n  event: y\n"
            "  actions: [{type: notify}]\n",
            "rule 'b', field actions.0.template: Field required",
        ),
        ("- name: a\n  event: x\n  actions: []\n", "rule 'a', field actions"),
        ("- name: a\n  event: x\n  actions: [{type: tweet, template: t}]\n", "rule 'a'"),
        (
            "- name: a\n  event: x\n  actions: [{type: draft, template: '  '}]\n",
            "template is empty",
        ),
        (
            "- name: a\n  event: x\n  actions: [{type: autopublish, template: t, delay: -5}]\n",
            "actions.0.delay",
        ),
        (
            "- name: a\n  event: x\n  colour: red\n  actions: [{type: draft, template: t}]\n",
            "colour",
        ),
        ("- event: x\n  actions: [{type: draft, template: t}]\n", "rule #1, field name"),
        (
            "- name: a\n  event: x\n  actions: [{type: draft, template: t}]\n"
            "- name: a\n  event: y\n  actions: [{type: draft, template: t}]\n",
            "appears twice",
        ),
        ("name: a\n", "expected a list of rules"),
        ("- name: a\n  event: [x\n", "not valid YAML at line"),
        ("", "expected a list of rules"),
        ("- just a string\n", "rule #1: expected a mapping"),
    ],
)
def test_import_errors_name_the_rule_and_the_field(document: str, message: str) -> None:
    with pytest.raises(RulesError) as err:
        load_rules_yaml(document)
    assert message in str(err.value)


def test_yaml_is_loaded_safely() -> None:
    with pytest.raises(RulesError):
        load_rules_yaml("- !!python/object/apply:os.system ['echo hacked']\n")


def test_dry_run_explains_every_rule() -> None:
    specs = load_rules_yaml(EXAMPLE)
    verdicts = dry_run(specs, "github.release.published", RELEASE)
    assert verdicts[0].matched and verdicts[0].reason is None
    draft, notify = verdicts[0].actions
    assert draft.kind == "draft" and draft.text == "Announce Dark mode (v2.3.0)"
    assert notify.text == "Release v2.3.0 drafted"
    assert not verdicts[1].matched and "rss.item" in (verdicts[1].reason or "")

    pre = dict(RELEASE, release=dict(RELEASE["release"], prerelease=True))
    verdict = dry_run(specs, "github.release.published", pre)[0]
    assert not verdict.matched
    assert verdict.reason == "release.prerelease equals false does not hold"


@pytest.mark.parametrize(
    ("document", "event_type", "field"),
    [
        (
            '{"type": "github.release.published", "payload": {"a": 1}}',
            "github.release.published",
            {"a": 1},
        ),
        ('{"event": "deploy.done", "env": "prod"}', "deploy.done", "prod"),
    ],
)
def test_sample_events(document: str, event_type: str, field: Any) -> None:
    kind, payload = sample_event(document)
    assert kind == event_type
    assert payload == field or payload["env"] == field


@pytest.mark.parametrize(
    ("document", "message"),
    [("{not json", "not valid JSON (line 1"), ("[1, 2]", "JSON object"), ('{"a": 1}', '"type"')],
)
def test_bad_sample_events(document: str, message: str) -> None:
    with pytest.raises(RulesError) as err:
        sample_event(document)
    assert message in str(err.value)
