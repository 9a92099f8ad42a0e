"""Automation rules as data: validation, matching, templates and the YAML format. Pure: no
database, no network, so the same code serves the engine, the /rules dry run and the tests.

A rule is an event-type glob (``github.release.*``), conditions on payload fields reached by a
dotted path (``release.tag_name``, ``commits.0.id``) and a list of actions::

    - name: release-post
      event: github.release.published
      conditions:
        - {path: release.prerelease, op: equals, value: false}
      actions:
        - {type: draft, template: "New release {payload.release.tag_name}"}

Everything that can be wrong with a rule (an unknown operator, a regex that does not compile, an
action without a template) is caught when the rule is saved, never when an event arrives.

Errors::

    RulesError            a YAML document or rule is unusable; str() names the rule and field
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

Operator = Literal["equals", "not_equals", "contains", "gt", "lt", "exists", "regex"]
_MISSING = object()
_PLACEHOLDER = re.compile(r"\{payload\.([A-Za-z0-9_\-]+(?:\.[A-Za-z0-9_\-]+)*)\}")


class RulesError(ValueError):
    """A rule (or a YAML document of rules) cannot be used; the message says where and why."""


class Condition(BaseModel):
    """``path`` ``op`` ``value``: e.g. release.tag_name regex ^v\\d+ ."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(min_length=1, max_length=200)
    op: Operator
    value: Any = None

    @model_validator(mode="after")
    def _value_fits_operator(self) -> Condition:
        if self.op == "regex":
            if not isinstance(self.value, str):
                raise ValueError("regex needs a pattern as its value")
            try:
                re.compile(self.value)
            except re.error as exc:
                raise ValueError(f"invalid regex {self.value!r}: {exc}") from None
        elif self.op in ("gt", "lt") and _number(self.value) is None:
            raise ValueError(f"{self.op} needs a number as its value")
        elif self.op == "exists" and not isinstance(self.value, bool | None):
            raise ValueError("exists takes true, false or no value")
        elif self.op in ("equals", "not_equals", "contains") and self.value is None:
            raise ValueError(f"{self.op} needs a value")
        return self

    def holds(self, payload: Any) -> bool:
        found = resolve(payload, self.path)
        if self.op == "exists":
            return (found is not _MISSING) == (self.value is not False)
        if found is _MISSING:
            return self.op == "not_equals"
        if self.op == "equals":
            return _same(found, self.value)
        if self.op == "not_equals":
            return not _same(found, self.value)
        if self.op == "contains":
            if isinstance(found, list | tuple):
                return any(_same(item, self.value) for item in found)
            if isinstance(found, dict):
                return str(self.value) in found
            return str(self.value).lower() in _text(found).lower()
        if self.op == "regex":
            return re.search(str(self.value), _text(found)) is not None
        left, right = _number(found), _number(self.value)
        if left is None or right is None:
            return False
        return left > right if self.op == "gt" else left < right


def _template(value: str) -> str:
    if not value.strip():
        raise ValueError("the template is empty")
    return value


Template = Annotated[str, Field(max_length=4000), AfterValidator(_template)]


class DraftAction(BaseModel):
    """An AI draft from the rendered template (the brief), sent to the owner for approval."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["draft"]
    template: Template


class AutopublishAction(BaseModel):
    """Published without approval to ``targets`` (account ids or platform names; empty: every
    enabled account) ``delay`` minutes after the event. The text is the rendered template, or an
    AI draft written from it when ``ai`` is true."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["autopublish"]
    template: Template
    ai: bool = False
    targets: list[int | str] = Field(default_factory=list)
    delay: int = Field(0, ge=0, le=60 * 24 * 30)


class NotifyAction(BaseModel):
    """A message to the owner, rendered from the template."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["notify"]
    template: Template


Action = Annotated[DraftAction | AutopublishAction | NotifyAction, Field(discriminator="type")]


class RuleSpec(BaseModel):
    """A rule as the owner writes it (and as YAML import/export reads and writes it)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=128)
    event: str = Field(min_length=1, max_length=128)
    conditions: list[Condition] = Field(default_factory=list)
    actions: list[Action] = Field(min_length=1)
    enabled: bool = True

    @field_validator("name", "event")
    @classmethod
    def _stripped(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()

    def matches(self, event_type: str, payload: Any) -> bool:
        return fnmatch.fnmatchcase(event_type, self.event) and all(
            c.holds(payload) for c in self.conditions
        )

    def failed_condition(self, payload: Any) -> Condition | None:
        """The first condition that does not hold (for the dry run's explanation)."""
        return next((c for c in self.conditions if not c.holds(payload)), None)

    def to_columns(self) -> dict[str, Any]:
        """The values of a `storage.models.Rule` row."""
        return {
            "name": self.name,
            "event": self.event,
            "conditions": json.dumps([c.model_dump() for c in self.conditions]),
            "actions": json.dumps([a.model_dump() for a in self.actions]),
            "enabled": self.enabled,
        }

    @classmethod
    def from_columns(
        cls, name: str, event: str, conditions: str, actions: str, enabled: bool
    ) -> RuleSpec:
        return cls(
            name=name,
            event=event,
            conditions=json.loads(conditions or "[]"),
            actions=json.loads(actions or "[]"),
            enabled=enabled,
        )


def resolve(payload: Any, path: str) -> Any:
    """The value at a dotted path (list items by index), or the module's missing marker."""
    current = payload
    for part in path.split("."):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.lstrip("-").isdigit():
            index = int(part)
            if not -len(current) <= index < len(current):
                return _MISSING
            current = current[index]
        else:
            return _MISSING
    return current


def is_missing(value: Any) -> bool:
    return value is _MISSING


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _same(left: Any, right: Any) -> bool:
    """Equality as a YAML author expects: 3 equals "3", true equals "true"."""
    if left == right and type(left) is type(right):
        return True
    if isinstance(left, bool) or isinstance(right, bool):
        return _text(left).lower() == _text(right).lower()
    a, b = _number(left), _number(right)
    if a is not None and b is not None:
        return a == b
    return _text(left) == _text(right)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


@dataclass(frozen=True)
class Rendered:
    text: str
    #: Placeholders whose field is not in the payload (rendered as empty, and logged).
    missing: tuple[str, ...]


def render(template: str, payload: Any) -> Rendered:
    """Fill ``{payload.a.b}`` placeholders; any other brace is left as written."""
    missing: list[str] = []

    def fill(match: re.Match[str]) -> str:
        value = resolve(payload, match[1])
        if value is _MISSING or value is None:
            missing.append(match[1])
            return ""
        return _text(value)

    return Rendered(_PLACEHOLDER.sub(fill, template), tuple(missing))


# --- validation and YAML ---------------------------------------------------------------------


def _describe(exc: ValidationError, name: str | None, index: int) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"] if not (isinstance(p, str) and p in _ACTION_TYPES))
    message = str(err["msg"]).removeprefix("Value error, ")
    rule = f"rule {name!r}" if name else f"rule #{index + 1}"
    return f"{rule}, field {where or '(rule)'}: {message}"


_ACTION_TYPES = ("draft", "autopublish", "notify")


def validate_rule(data: Any, index: int = 0) -> RuleSpec:
    """One rule from plain data, or RulesError naming the rule and the field."""
    if not isinstance(data, dict):
        raise RulesError(f"rule #{index + 1}: expected a mapping with name, event and actions")
    name = data.get("name") if isinstance(data.get("name"), str) else None
    try:
        return RuleSpec.model_validate(data)
    except ValidationError as exc:
        raise RulesError(_describe(exc, name, index)) from None


def load_rules_yaml(document: str) -> list[RuleSpec]:
    """Every rule of a YAML document, or RulesError for the first bad one (all or nothing)."""
    try:
        data = yaml.safe_load(document)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise RulesError(f"not valid YAML{where}: {getattr(exc, 'problem', exc)}") from None
    if isinstance(data, dict) and "rules" in data:
        data = data["rules"]
    if not isinstance(data, list) or not data:
        raise RulesError("expected a list of rules (each with name, event and actions)")
    specs = [validate_rule(item, i) for i, item in enumerate(data)]
    seen: set[str] = set()
    for spec in specs:
        if spec.name in seen:
            raise RulesError(f"rule {spec.name!r} appears twice: names must be unique")
        seen.add(spec.name)
    return specs


def dump_rules_yaml(specs: Iterable[RuleSpec]) -> str:
    """The YAML document `load_rules_yaml` reads back to the same rules."""
    data = [spec.model_dump(exclude_defaults=False) for spec in specs]
    for item in data:
        for action in item["actions"]:
            for key in [k for k, v in action.items() if k != "type" and v in (None, [], False, 0)]:
                del action[key]
        for condition in item["conditions"]:
            if condition["value"] is None:
                del condition["value"]
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


# --- dry run ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedAction:
    """What one action would do with an event (the /rules test answer)."""

    kind: str
    text: str
    missing: tuple[str, ...]
    targets: tuple[int | str, ...] = ()
    delay: int = 0
    ai: bool = False


@dataclass(frozen=True)
class RuleVerdict:
    name: str
    matched: bool
    #: Why it did not match: None if it did; "event" or the failed condition.
    reason: str | None
    actions: tuple[PlannedAction, ...]


def plan(action: DraftAction | AutopublishAction | NotifyAction, payload: Any) -> PlannedAction:
    rendered = render(action.template, payload)
    if isinstance(action, AutopublishAction):
        return PlannedAction(
            action.type,
            rendered.text,
            rendered.missing,
            tuple(action.targets),
            action.delay,
            action.ai,
        )
    return PlannedAction(action.type, rendered.text, rendered.missing)


def dry_run(specs: Sequence[RuleSpec], event_type: str, payload: Any) -> list[RuleVerdict]:
    """Which rules an event matches and what each of their actions would do; changes nothing."""
    verdicts = []
    for spec in specs:
        if not fnmatch.fnmatchcase(event_type, spec.event):
            verdicts.append(RuleVerdict(spec.name, False, f"event is not {spec.event}", ()))
            continue
        failed = spec.failed_condition(payload)
        if failed is not None:
            value = "" if failed.value is None else f" {_text(failed.value)}"
            reason = f"{failed.path} {failed.op}{value} does not hold"
            verdicts.append(RuleVerdict(spec.name, False, reason, ()))
            continue
        actions = tuple(plan(a, payload) for a in spec.actions)
        verdicts.append(RuleVerdict(spec.name, True, None, actions))
    return verdicts


def sample_event(document: str) -> tuple[str, Any]:
    """(event type, payload) from the JSON the owner sends to test rules: either
    ``{"type": ..., "payload": {...}}`` or a payload carrying its own ``type``/``event`` field,
    as a plain webhook would send it."""
    try:
        data = json.loads(document)
    except json.JSONDecodeError as exc:
        raise RulesError(
            f"not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}"
        ) from None
    if not isinstance(data, dict):
        raise RulesError("expected a JSON object")
    event_type = data.get("type") or data.get("event")
    if not isinstance(event_type, str) or not event_type.strip():
        raise RulesError('the JSON needs a "type" field with the event type')
    payload = data["payload"] if isinstance(data.get("payload"), dict) else data
    return event_type.strip(), payload
