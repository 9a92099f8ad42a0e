"""The stored rules: the service behind /rules. Each function is one transaction; import is
all or nothing (every rule is validated before any is written)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from automation.rules import (
    RuleSpec,
    RuleVerdict,
    dry_run,
    dump_rules_yaml,
    load_rules_yaml,
    sample_event,
)
from storage.models import Rule, RuleRun


@dataclass(frozen=True)
class RuleStatus:
    rule: Rule
    #: The latest run of the rule, if it ever ran.
    last_run: RuleRun | None


def spec_of(rule: Rule) -> RuleSpec:
    return RuleSpec.from_columns(rule.name, rule.event, rule.conditions, rule.actions, rule.enabled)


async def list_rules(session: AsyncSession) -> list[RuleStatus]:
    rules = (await session.scalars(select(Rule).order_by(Rule.id))).all()
    latest = (
        select(RuleRun.rule_id, func.max(RuleRun.id).label("run_id"))
        .group_by(RuleRun.rule_id)
        .subquery()
    )
    runs = {
        run.rule_id: run
        for run in (
            await session.scalars(select(RuleRun).join(latest, RuleRun.id == latest.c.run_id))
        ).all()
    }
    await session.commit()
    return [RuleStatus(rule, runs.get(rule.id)) for rule in rules]


async def toggle_rule(session: AsyncSession, rule_id: int) -> Rule | None:
    rule = await session.get(Rule, rule_id)
    if rule is not None:
        rule.enabled = not rule.enabled
        await session.commit()
    return rule


async def delete_rule(session: AsyncSession, rule_id: int) -> Rule | None:
    rule = await session.get(Rule, rule_id)
    if rule is not None:
        await session.delete(rule)
        await session.commit()
    return rule


async def save_rules(session: AsyncSession, specs: Sequence[RuleSpec]) -> tuple[int, int]:
    """Add the rules, replacing those with the same names; returns (added, replaced)."""
    added = replaced = 0
    for spec in specs:
        rule = await session.scalar(select(Rule).where(Rule.name == spec.name))
        if rule is None:
            session.add(Rule(**spec.to_columns()))
            added += 1
        else:
            for key, value in spec.to_columns().items():
                setattr(rule, key, value)
            replaced += 1
    await session.commit()
    return added, replaced


async def import_rules(session: AsyncSession, document: str) -> tuple[int, int]:
    """Import a YAML document of rules: all of them, or none (RulesError says which rule and
    which field is wrong)."""
    return await save_rules(session, load_rules_yaml(document))


async def export_rules(session: AsyncSession) -> tuple[str, int]:
    """Every rule as a YAML document `import_rules` reads back, and how many there are."""
    rules = (await session.scalars(select(Rule).order_by(Rule.id))).all()
    await session.commit()
    return dump_rules_yaml(spec_of(rule) for rule in rules), len(rules)


async def dry_run_rules(session: AsyncSession, document: str) -> tuple[str, list[RuleVerdict]]:
    """Dry run of the enabled rules on a sample event (JSON); nothing is drafted or sent."""
    event_type, payload = sample_event(document)
    rules = (await session.scalars(select(Rule).where(Rule.enabled).order_by(Rule.id))).all()
    await session.commit()
    return event_type, dry_run([spec_of(r) for r in rules], event_type, payload)
