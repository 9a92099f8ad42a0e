"""/rules: the automation rules. List (with each rule's last run), enable/disable, delete (after
a confirmation), a dry run on a sample event, and YAML import/export. The work is done by
`automation.rulebook`; this module parses and renders."""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, Message
from sqlalchemy.ext.asyncio import AsyncSession

from automation import rulebook
from automation.rules import PlannedAction, RulesError, RuleVerdict
from handlers.routing import TappedMessage, needs
from storage.models import Rule
from storage.roles import Can
from ui import views
from ui.callbacks import RuleAct, RuleCb
from ui.fit import clip
from ui.keyboards import confirm_keyboard, rules_keyboard
from ui.texts import Html, Texts

log = logging.getLogger(__name__)

#: The largest rules file accepted (a hundred rules are a few dozen kilobytes).
MAX_YAML_BYTES = 256 * 1024
_SNIPPET = 300
#: How much of a rule's name the list shows (the whole file: /rules export).
NAME_SHOWN = 80
#: Room for the dry run's answer inside one Telegram message (4096), with its heading.
MAX_DRY_RUN_CHARS = 3500


class RuleStates(StatesGroup):
    importing = State()
    testing = State()


async def _overview(
    session: AsyncSession, t: Texts, tz: ZoneInfo
) -> tuple[str, InlineKeyboardMarkup]:
    statuses = await rulebook.list_rules(session)
    lines = []
    for status in statuses:
        rule, run = status.rule, status.last_run
        if run is None:
            last = t("rules.never")
        else:
            key = "rules.last_ok" if run.ok else "rules.last_failed"
            last = t(key, when=views.short_when(run.at, tz), detail=run.detail[:_SNIPPET])
        lines.append(
            t(
                "rules.line_on" if rule.enabled else "rules.line_off",
                name=clip(rule.name, NAME_SHOWN),
                event=rule.event,
                last=Html(last),
            )
        )
    text = t("rules.list", lines=Html("\n".join(lines) or t("rules.none")))
    markup = rules_keyboard(t, [(s.rule.id, s.rule.name, s.rule.enabled) for s in statuses])
    return text, markup


async def on_rules(
    message: Message,
    command: CommandObject,
    bot: Bot,
    session: AsyncSession,
    t: Texts,
    tz: ZoneInfo,
    state: FSMContext,
) -> None:
    """/rules, or /rules test|import|export (an import may carry its YAML right after)."""
    await state.clear()
    words = (command.args or "").split(maxsplit=1)
    sub = words[0].lower() if words else ""
    if sub == "export":
        await _export(bot, session, t, message.chat.id)
    elif sub == "import" and len(words) > 1:
        await _import(message, session, t, state, words[1])
    elif sub in ("import", "test"):
        await _ask(message, t, state, sub)
    else:
        text, markup = await _overview(session, t, tz)
        await message.answer(text, reply_markup=markup)


async def _ask(message: Message, t: Texts, state: FSMContext, what: str) -> None:
    await state.set_state(RuleStates.importing if what == "import" else RuleStates.testing)
    await message.answer(t(f"rules.ask_{what}"))


async def on_ask_test(query: CallbackQuery, message: Message, t: Texts, state: FSMContext) -> None:
    await query.answer()
    await _ask(message, t, state, "test")


async def on_ask_import(
    query: CallbackQuery, message: Message, t: Texts, state: FSMContext
) -> None:
    await query.answer()
    await _ask(message, t, state, "import")


async def on_export(
    query: CallbackQuery, message: Message, bot: Bot, session: AsyncSession, t: Texts
) -> None:
    await query.answer()
    await _export(bot, session, t, message.chat.id)


async def on_toggle(
    query: CallbackQuery,
    callback_data: RuleCb,
    message: Message,
    session: AsyncSession,
    t: Texts,
    tz: ZoneInfo,
) -> None:
    rule = await rulebook.toggle_rule(session, callback_data.id)
    note = (
        t.plain("rules.enabled" if rule.enabled else "rules.disabled", name=rule.name)
        if rule is not None
        else None
    )
    await _answer_and_list(query, message, session, t, tz, note)


async def on_delete(
    query: CallbackQuery,
    callback_data: RuleCb,
    message: Message,
    session: AsyncSession,
    t: Texts,
    tz: ZoneInfo,
) -> None:
    """🗑: the rule's name and a confirmation (the list again if it is gone)."""
    rule = await session.get(Rule, callback_data.id)
    await session.commit()
    if rule is None:
        await _answer_and_list(query, message, session, t, tz, None)
        return
    await query.answer()
    await message.edit_text(
        t("rules.confirm_delete", name=rule.name),
        reply_markup=confirm_keyboard(
            t, RuleCb(act=RuleAct.DELETE_YES, id=callback_data.id), RuleCb(act=RuleAct.LIST)
        ),
    )


async def on_delete_yes(
    query: CallbackQuery,
    callback_data: RuleCb,
    message: Message,
    session: AsyncSession,
    t: Texts,
    tz: ZoneInfo,
) -> None:
    rule = await rulebook.delete_rule(session, callback_data.id)
    note = t.plain("rules.deleted", name=rule.name) if rule is not None else None
    await _answer_and_list(query, message, session, t, tz, note)


async def on_list(
    query: CallbackQuery, message: Message, session: AsyncSession, t: Texts, tz: ZoneInfo
) -> None:
    await _answer_and_list(query, message, session, t, tz, "")


async def _answer_and_list(
    query: CallbackQuery,
    message: Message,
    session: AsyncSession,
    t: Texts,
    tz: ZoneInfo,
    note: str | None,
) -> None:
    """Answer the tap with `note` (None: the rule is gone; empty: nothing to say) and show the
    list as it is now."""
    if note is None:
        await query.answer(t.plain("rules.gone"), show_alert=True)
    else:
        await query.answer(note or None)
    text, markup = await _overview(session, t, tz)
    await message.edit_text(text, reply_markup=markup)


async def _export(bot: Bot, session: AsyncSession, t: Texts, chat_id: int) -> None:
    document, count = await rulebook.export_rules(session)
    if not count:
        await bot.send_message(chat_id, t("rules.export_empty"))
        return
    await bot.send_document(
        chat_id,
        BufferedInputFile(document.encode("utf-8"), filename="rules.yaml"),
        caption=t.n("rules.exported", count),
    )


async def _document_text(message: Message, bot: Bot, t: Texts) -> str | None:
    """The text of a sent .yaml file, or None after telling the owner what is wrong with it."""
    document = message.document
    assert document is not None
    if (document.file_size or 0) > MAX_YAML_BYTES:
        await message.answer(t("rules.file_too_big", limit=MAX_YAML_BYTES // 1024))
        return None
    data = await bot.download(document)
    assert data is not None
    try:
        return data.read().decode("utf-8-sig")
    except UnicodeDecodeError:
        await message.answer(t("rules.not_utf8"))
        return None


async def on_import_message(
    message: Message, bot: Bot, session: AsyncSession, t: Texts, state: FSMContext
) -> None:
    if message.document is not None:
        document = await _document_text(message, bot, t)
        if document is None:
            return
    elif message.text:
        document = message.text
    else:
        await message.answer(t("rules.ask_import"))
        return
    await _import(message, session, t, state, document)


async def _import(
    message: Message, session: AsyncSession, t: Texts, state: FSMContext, document: str
) -> None:
    try:
        added, replaced = await rulebook.import_rules(session, document)
    except RulesError as exc:
        await session.rollback()
        await message.answer(t("rules.import_failed", reason=str(exc)))
        return
    await state.clear()
    await message.answer(t.n("rules.imported", added, replaced=replaced))


def _describe_action(t: Texts, action: PlannedAction) -> str:
    text = action.text if len(action.text) <= _SNIPPET else action.text[:_SNIPPET] + "…"
    if action.kind == "autopublish":
        targets = ", ".join(map(str, action.targets)) or t.plain("rules.all_targets")
        key = "rules.would_publish_ai" if action.ai else "rules.would_publish"
        line = t(key, targets=targets, delay=action.delay, text=text)
    else:
        line = t(f"rules.would_{action.kind}", text=text)
    if action.missing:
        line += "\n" + t("rules.missing", fields=", ".join(action.missing))
    return line


def _describe_verdict(t: Texts, verdict: RuleVerdict) -> str:
    if not verdict.matched:
        return t("rules.no_match", name=verdict.name, reason=verdict.reason or "")
    actions = "\n".join(_describe_action(t, a) for a in verdict.actions)
    return t("rules.match", name=verdict.name, actions=Html(actions))


async def on_test_message(
    message: Message, session: AsyncSession, t: Texts, state: FSMContext
) -> None:
    try:
        event_type, verdicts = await rulebook.dry_run_rules(session, message.text or "")
    except RulesError as exc:
        await message.answer(t("rules.test_bad", reason=str(exc)))
        return
    await state.clear()
    if not verdicts:
        await message.answer(t("rules.test_no_rules"))
        return
    # matches first; whole verdicts only, so the HTML stays balanced within one message
    parts, size = [], 0
    for verdict in sorted(verdicts, key=lambda v: not v.matched):
        part = _describe_verdict(t, verdict)
        if size + len(part) > MAX_DRY_RUN_CHARS:
            parts.append("…")
            break
        parts.append(part)
        size += len(part) + 2
    body = "\n\n".join(parts)
    await message.answer(t("rules.test_result", event=event_type, body=Html(body)))


def router() -> Router:
    r = Router(name="rules")
    r.message.register(on_rules, Command("rules"), flags=needs(Can.MANAGE))
    r.callback_query.filter(TappedMessage())
    for handler, act in (
        (on_list, RuleAct.LIST),
        (on_toggle, RuleAct.TOGGLE),
        (on_delete, RuleAct.DELETE),
        (on_delete_yes, RuleAct.DELETE_YES),
        (on_ask_test, RuleAct.TEST),
        (on_ask_import, RuleAct.IMPORT),
        (on_export, RuleAct.EXPORT),
    ):
        r.callback_query.register(handler, RuleCb.filter(F.act == act), flags=needs(Can.MANAGE))
    r.message.register(
        on_import_message, RuleStates.importing, F.text | F.document, flags=needs(Can.MANAGE)
    )
    r.message.register(on_test_message, RuleStates.testing, F.text, flags=needs(Can.MANAGE))
    return r
