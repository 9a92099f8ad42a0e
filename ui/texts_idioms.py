"""Texts of the idioms work (issue 13): the errors router, the catch-all answer to taps, views
clipped to Telegram's limits. Plain dict literals, merged into `ui.texts` (gettext later)."""

EN = {
    "error.incident": "⚠️ Something went wrong; nothing was changed. Reference: <code>{ref}</code>",
    "error.incident_tap": "⚠️ Something went wrong; nothing was changed. Reference: {ref}",
    "tap.too_old": "This message is too old for its buttons. Send the command again.",
    "tap.unknown": "This button no longer works. Send the command again.",
    "btn.whole": "📄 Show whole",
    "whole.head": "<b>{name}</b> (whole, {length} characters):",
    "whole.part": "<i>part {number} of {parts}</i>",
}

RU = {
    "error.incident": "⚠️ Что-то пошло не так; ничего не изменено. Номер: <code>{ref}</code>",
    "error.incident_tap": "⚠️ Что-то пошло не так; ничего не изменено. Номер: {ref}",
    "tap.too_old": "Это сообщение слишком старое для его кнопок. Отправьте команду ещё раз.",
    "tap.unknown": "Эта кнопка больше не работает. Отправьте команду ещё раз.",
    "btn.whole": "📄 Показать целиком",
    "whole.head": "<b>{name}</b> (целиком, символов: {length}):",
    "whole.part": "<i>часть {number} из {parts}</i>",
}

UK = {
    "error.incident": "⚠️ Щось пішло не так; нічого не змінено. Номер: <code>{ref}</code>",
    "error.incident_tap": "⚠️ Щось пішло не так; нічого не змінено. Номер: {ref}",
    "tap.too_old": "Це повідомлення застаре для його кнопок. Надішліть команду ще раз.",
    "tap.unknown": "Ця кнопка більше не працює. Надішліть команду ще раз.",
    "btn.whole": "📄 Показати повністю",
    "whole.head": "<b>{name}</b> (повністю, символів: {length}):",
    "whole.part": "<i>частина {number} з {parts}</i>",
}

EN_PLURALS: dict[str, tuple[str, ...]] = {}
RU_PLURALS: dict[str, tuple[str, ...]] = {}
UK_PLURALS: dict[str, tuple[str, ...]] = {}
