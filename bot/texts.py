"""Every text the bot says, in English and Russian, in one catalogue.

Messages are Telegram HTML. `Texts.__call__` escapes every value it inserts, so user and AI text
can never break the markup; a value that is already HTML is wrapped in `Html` to pass through.
The language follows the user's Telegram client (`language_for`).
"""

from __future__ import annotations

import html

RUSSIAN_CLIENTS = frozenset({"ru", "uk", "be", "kk"})


class Html(str):
    """A string that is already safe Telegram HTML."""


def language_for(language_code: str | None) -> str:
    base = (language_code or "").split("-")[0].lower()
    return "ru" if base in RUSSIAN_CLIENTS else "en"


EN: dict[str, str] = {
    "cmd.start": "Welcome and setup status",
    "cmd.new": "Draft a post: /new <what it is about>",
    "cmd.drafts": "Drafts waiting for approval",
    "cmd.voice": "Your brand voice",
    "cmd.cancel": "Cancel what you are doing",
    "cmd.help": "How to use Nexus",
    "start": (
        "👋 <b>Nexus</b> writes posts in your brand voice and publishes them for you.\n\n"
        "Just tell me what to post about, e.g. <i>announce v2.3 with dark mode</i>. "
        "I'll send a draft with buttons to approve, edit, regenerate or reject it.\n\n"
        "<b>Setup</b>\n{channel}\n{ai}\n{voice}\n\n/help lists everything I can do."
    ),
    "start.channel_ok": "✅ Channel: {channel}",
    "start.channel_missing": (
        "⚠️ No channel yet: set NEXUS_CHANNEL to your channel's @username and add me "
        "to the channel as an admin."
    ),
    "start.ai_online": "✅ Drafting with Claude ({model})",
    "start.ai_offline": ("✍️ Offline drafts: set ANTHROPIC_API_KEY to draft with Claude."),
    "start.voice_set": "✅ Brand voice is set (/voice)",
    "start.voice_missing": "💡 Describe your brand voice with /voice for better drafts.",
    "help": (
        "<b>How Nexus works</b>\n"
        "Send any message (or /new &lt;brief&gt;) and I'll draft a post from it.\n"
        "Under each draft: <b>Approve &amp; publish</b>, <b>Edit</b> (send your own text), "
        "<b>Regenerate</b> (optionally “shorter”, “more formal”…), <b>Reject</b>.\n\n"
        "/drafts — drafts waiting for you\n"
        "/voice — tone, audience, do's and don'ts, an example post\n"
        "/cancel — stop what you are doing"
    ),
    "refused": (
        "Sorry, this is a private Nexus bot. If it is yours, add your user id {user_id} "
        "to NEXUS_OWNER_IDS and restart it."
    ),
    "new.usage": "Tell me what to post about, e.g. <code>/new announce v2.3 with dark mode</code>",
    "new.not_text": "I draft from text: send me a brief as a message.",
    "new.too_long": (
        "That brief is {length} characters long; please keep it under {limit}. Send a shorter one."
    ),
    "drafting": "✍️ Drafting…",
    "regenerating": "🔄 Rewriting draft #{post_id}…",
    "ai.failed": "⚠️ I couldn't write this draft: {reason}",
    "ai.err.auth": "Claude rejected the API key. Check ANTHROPIC_API_KEY and restart Nexus.",
    "ai.err.rejected": (
        "Claude refused the request (is NEXUS_AI_MODEL a model your key can use?)."
    ),
    "ai.err.rate_limited": "Claude's rate limit was reached. Wait a minute and tap Retry.",
    "ai.err.overloaded": "Claude is overloaded right now. Tap Retry in a moment.",
    "ai.err.timeout": "Claude did not answer in time. Tap Retry.",
    "ai.err.unavailable": "Claude could not be reached. Tap Retry in a moment.",
    "ai.err.bad_answer": "Claude's answer was not a usable draft. Tap Retry for another try.",
    "ai.retry_expired": "I can't find the original request any more: please send the brief again.",
    "preview.title": "📝 <b>Draft #{post_id}</b> → {targets}",
    "preview.no_target": "no channel yet",
    "preview.offline": "✍️ <i>Offline draft: set ANTHROPIC_API_KEY for AI drafts.</i>",
    "preview.fits": "📏 {length}/{limit} ✓",
    "preview.split": "📏 {length} characters: goes out as {parts} messages",
    "preview.too_long": "✗ {reason}",
    "preview.truncated": "… ({hidden} more characters)",
    "btn.approve": "✅ Approve & publish",
    "btn.edit": "✏️ Edit",
    "btn.regenerate": "🔄 Regenerate",
    "btn.reject": "🗑 Reject",
    "btn.restore": "↩️ Restore",
    "btn.back": "« Back",
    "btn.retry": "🔁 Retry",
    "btn.retry_publish": "🔁 Retry failed",
    "btn.open": "#{post_id} {snippet}",
    "btn.prev": "‹ Newer",
    "btn.next": "Older ›",
    "regen.shorter": "Shorter",
    "regen.longer": "Longer",
    "regen.formal": "More formal",
    "regen.casual": "More casual",
    "regen.cta": "Add a call to action",
    "regen.again": "Just another take",
    "regen.own": "✍️ My own instruction",
    "regen.choose": "How should I rewrite draft #{post_id}?",
    "regen.ask": (
        "Tell me how to change draft #{post_id}, e.g. <i>shorter, mention the beta</i>. "
        "/cancel keeps it as it is."
    ),
    "edit.ask": (
        "Send the new text for draft #{post_id}. /cancel keeps the current one.\n\n"
        "Current text:\n<code>{text}</code>"
    ),
    "edit.empty": "The new text is empty. Send the text of the post, or /cancel.",
    "edit.not_text": "Send the new text as a message, or /cancel.",
    "edit.stub": "✏️ Draft #{post_id} was updated: the new preview is below.",
    "draft.changed": (
        "Draft #{post_id} changed while I was working on it, so I kept it as it is. "
        "Here is the current version."
    ),
    "draft.gone": "That draft no longer exists.",
    "draft.is": "Draft #{post_id} is already {status}.",
    "draft.stale": "This preview is out of date; here is the current version of draft #{post_id}.",
    "draft.rejected": "🗑 Draft #{post_id} rejected.",
    "draft.restored": "Draft #{post_id} is back.",
    "publish.no_targets": (
        "There is no channel to publish to. Set NEXUS_CHANNEL to your channel's @username, "
        "add me to the channel as an admin, and restart me."
    ),
    "publish.publishing": "⏳ Publishing draft #{post_id}…",
    "publish.done": "✅ <b>Post #{post_id} is published.</b>\n{lines}",
    "publish.partial": "⚠️ <b>Post #{post_id} is published only in part.</b>\n{lines}",
    "publish.failed": "❌ <b>Post #{post_id} was not published.</b>\n{lines}",
    "publish.line_ok": "✅ {target}: {link}",
    "publish.line_ok_nolink": "✅ {target}",
    "publish.line_failed": "❌ {target}: {reason}",
    "publish.link": "open",
    "drafts.empty": (
        "No drafts are waiting. Send me an idea, e.g. <i>announce v2.3 with dark mode</i>."
    ),
    "drafts.list": "📝 <b>Drafts waiting for you</b> ({count}). Tap one to open it.",
    "voice.show": (
        "🎙 <b>Brand voice</b>\n"
        "<b>Tone:</b> {tone}\n<b>Audience:</b> {audience}\n<b>Do:</b> {do}\n"
        "<b>Don't:</b> {dont}\n<b>Example post:</b> {example}\n\n"
        "Tap a field to change it."
    ),
    "voice.unset": "—",
    "voice.ask": "Send the {field} in one message (up to {limit} characters), or /cancel.",
    "voice.too_long": "That is {length} characters; the {field} can be up to {limit}. Try again.",
    "voice.saved": "✅ Saved the {field}.",
    "voice.cleared": "Brand voice cleared.",
    "voice.clear": "🧹 Clear all",
    "voice.field.tone": "tone",
    "voice.field.audience": "audience",
    "voice.field.do": "do's",
    "voice.field.dont": "don'ts",
    "voice.field.example": "example post",
    "cancel.done": "Cancelled. Nothing was changed.",
    "cancel.nothing": "There is nothing to cancel.",
    "key.created": (
        "🔑 I created a secret key at <code>{path}</code>. It encrypts the credentials I store: "
        "back it up now, because without it they cannot be read."
    ),
    "status.draft": "a draft",
    "status.approved": "approved",
    "status.publishing": "being published",
    "status.published": "published",
    "status.partial": "published in part",
    "status.failed": "failed",
    "status.rejected": "rejected",
}

RU: dict[str, str] = {
    "cmd.start": "Приветствие и состояние настройки",
    "cmd.new": "Черновик поста: /new <о чём пост>",
    "cmd.drafts": "Черновики, ждущие одобрения",
    "cmd.voice": "Голос бренда",
    "cmd.cancel": "Отменить текущее действие",
    "cmd.help": "Как пользоваться Nexus",
    "start": (
        "👋 <b>Nexus</b> пишет посты голосом вашего бренда и публикует их за вас.\n\n"
        "Просто напишите, о чём пост, например <i>анонс v2.3 с тёмной темой</i>. "
        "Я пришлю черновик с кнопками: одобрить, изменить, переписать или отклонить.\n\n"
        "<b>Настройка</b>\n{channel}\n{ai}\n{voice}\n\n/help — всё, что я умею."
    ),
    "start.channel_ok": "✅ Канал: {channel}",
    "start.channel_missing": (
        "⚠️ Канал не задан: укажите @имя канала в NEXUS_CHANNEL и добавьте меня "
        "в канал администратором."
    ),
    "start.ai_online": "✅ Черновики пишет Claude ({model})",
    "start.ai_offline": "✍️ Офлайн-черновики: задайте ANTHROPIC_API_KEY, чтобы писал Claude.",
    "start.voice_set": "✅ Голос бренда задан (/voice)",
    "start.voice_missing": "💡 Опишите голос бренда командой /voice — черновики станут лучше.",
    "help": (
        "<b>Как работает Nexus</b>\n"
        "Пришлите любое сообщение (или /new &lt;тема&gt;), и я напишу по нему пост.\n"
        "Под каждым черновиком: <b>Одобрить и опубликовать</b>, <b>Изменить</b> (свой текст), "
        "<b>Переписать</b> (можно «короче», «официальнее»…), <b>Отклонить</b>.\n\n"
        "/drafts — черновики, ждущие вас\n"
        "/voice — тон, аудитория, что можно и нельзя, пример поста\n"
        "/cancel — отменить текущее действие"
    ),
    "refused": (
        "Извините, это личный бот Nexus. Если он ваш, добавьте ваш id {user_id} "
        "в NEXUS_OWNER_IDS и перезапустите его."
    ),
    "new.usage": "Напишите, о чём пост, например <code>/new анонс v2.3 с тёмной темой</code>",
    "new.not_text": "Я пишу по тексту: пришлите тему поста сообщением.",
    "new.too_long": (
        "В теме {length} символов; пожалуйста, уложитесь в {limit}. Пришлите покороче."
    ),
    "drafting": "✍️ Пишу черновик…",
    "regenerating": "🔄 Переписываю черновик #{post_id}…",
    "ai.failed": "⚠️ Не получилось написать черновик: {reason}",
    "ai.err.auth": "Claude не принял API-ключ. Проверьте ANTHROPIC_API_KEY и перезапустите Nexus.",
    "ai.err.rejected": (
        "Claude отклонил запрос (доступна ли вашему ключу модель из NEXUS_AI_MODEL?)."
    ),
    "ai.err.rate_limited": (
        "Превышен лимит запросов к Claude. Подождите минуту и нажмите «Повторить»."
    ),
    "ai.err.overloaded": "Claude сейчас перегружен. Нажмите «Повторить» чуть позже.",
    "ai.err.timeout": "Claude не ответил вовремя. Нажмите «Повторить».",
    "ai.err.unavailable": "Не удалось связаться с Claude. Нажмите «Повторить» чуть позже.",
    "ai.err.bad_answer": "Ответ Claude не подошёл как черновик. Нажмите «Повторить».",
    "ai.retry_expired": "Исходный запрос не найден: пришлите тему ещё раз.",
    "preview.title": "📝 <b>Черновик #{post_id}</b> → {targets}",
    "preview.no_target": "канал не задан",
    "preview.offline": "✍️ <i>Офлайн-черновик: задайте ANTHROPIC_API_KEY для черновиков от ИИ.</i>",
    "preview.fits": "📏 {length}/{limit} ✓",
    "preview.split": "📏 {length} символов: уйдёт {parts} сообщениями",
    "preview.too_long": "✗ {reason}",
    "preview.truncated": "… (ещё {hidden} символов)",
    "btn.approve": "✅ Одобрить и опубликовать",
    "btn.edit": "✏️ Изменить",
    "btn.regenerate": "🔄 Переписать",
    "btn.reject": "🗑 Отклонить",
    "btn.restore": "↩️ Вернуть",
    "btn.back": "« Назад",
    "btn.retry": "🔁 Повторить",
    "btn.retry_publish": "🔁 Повторить неудачные",
    "btn.open": "#{post_id} {snippet}",
    "btn.prev": "‹ Новее",
    "btn.next": "Старше ›",
    "regen.shorter": "Короче",
    "regen.longer": "Длиннее",
    "regen.formal": "Официальнее",
    "regen.casual": "Проще",
    "regen.cta": "Добавить призыв к действию",
    "regen.again": "Другой вариант",
    "regen.own": "✍️ Своё указание",
    "regen.choose": "Как переписать черновик #{post_id}?",
    "regen.ask": (
        "Напишите, что изменить в черновике #{post_id}, например <i>короче, упомяни бету</i>. "
        "/cancel оставит его как есть."
    ),
    "edit.ask": (
        "Пришлите новый текст черновика #{post_id}. /cancel оставит текущий.\n\n"
        "Текущий текст:\n<code>{text}</code>"
    ),
    "edit.empty": "Новый текст пуст. Пришлите текст поста или /cancel.",
    "edit.not_text": "Пришлите новый текст сообщением или /cancel.",
    "edit.stub": "✏️ Черновик #{post_id} обновлён: новый вариант ниже.",
    "draft.changed": (
        "Черновик #{post_id} изменился, пока я работал, поэтому я его не тронул. "
        "Вот текущая версия."
    ),
    "draft.gone": "Этого черновика больше нет.",
    "draft.is": "Черновик #{post_id} уже {status}.",
    "draft.stale": "Этот предпросмотр устарел; вот текущая версия черновика #{post_id}.",
    "draft.rejected": "🗑 Черновик #{post_id} отклонён.",
    "draft.restored": "Черновик #{post_id} возвращён.",
    "publish.no_targets": (
        "Публиковать некуда. Укажите @имя канала в NEXUS_CHANNEL, добавьте меня в канал "
        "администратором и перезапустите меня."
    ),
    "publish.publishing": "⏳ Публикую черновик #{post_id}…",
    "publish.done": "✅ <b>Пост #{post_id} опубликован.</b>\n{lines}",
    "publish.partial": "⚠️ <b>Пост #{post_id} опубликован частично.</b>\n{lines}",
    "publish.failed": "❌ <b>Пост #{post_id} не опубликован.</b>\n{lines}",
    "publish.line_ok": "✅ {target}: {link}",
    "publish.line_ok_nolink": "✅ {target}",
    "publish.line_failed": "❌ {target}: {reason}",
    "publish.link": "открыть",
    "drafts.empty": ("Черновиков нет. Пришлите идею, например <i>анонс v2.3 с тёмной темой</i>."),
    "drafts.list": "📝 <b>Черновики ждут вас</b> ({count}). Нажмите, чтобы открыть.",
    "voice.show": (
        "🎙 <b>Голос бренда</b>\n"
        "<b>Тон:</b> {tone}\n<b>Аудитория:</b> {audience}\n<b>Можно:</b> {do}\n"
        "<b>Нельзя:</b> {dont}\n<b>Пример поста:</b> {example}\n\n"
        "Нажмите на поле, чтобы изменить его."
    ),
    "voice.unset": "—",
    "voice.ask": "Пришлите {field} одним сообщением (до {limit} символов) или /cancel.",
    "voice.too_long": "Здесь {length} символов, а {field} — не больше {limit}. Попробуйте ещё раз.",
    "voice.saved": "✅ Сохранено: {field}.",
    "voice.cleared": "Голос бренда очищен.",
    "voice.clear": "🧹 Очистить всё",
    "voice.field.tone": "тон",
    "voice.field.audience": "аудиторию",
    "voice.field.do": "что можно",
    "voice.field.dont": "что нельзя",
    "voice.field.example": "пример поста",
    "cancel.done": "Отменено. Ничего не изменилось.",
    "cancel.nothing": "Отменять нечего.",
    "key.created": (
        "🔑 Я создал секретный ключ <code>{path}</code>. Им шифруются сохранённые учётные "
        "данные: сделайте его резервную копию, без него их не прочитать."
    ),
    "status.draft": "черновик",
    "status.approved": "одобрен",
    "status.publishing": "публикуется",
    "status.published": "опубликован",
    "status.partial": "опубликован частично",
    "status.failed": "не опубликован",
    "status.rejected": "отклонён",
}

CATALOGUE: dict[str, dict[str, str]] = {"en": EN, "ru": RU}


class Texts:
    """The catalogue in one language: `t("key", name=value)`."""

    def __init__(self, language: str) -> None:
        self.language = language if language in CATALOGUE else "en"
        self._texts = CATALOGUE[self.language]

    def __call__(self, key: str, **values: object) -> str:
        safe = {
            name: value if isinstance(value, Html) else html.escape(str(value), quote=False)
            for name, value in values.items()
        }
        return self._texts[key].format(**safe)

    def plain(self, key: str, **values: object) -> str:
        """For plain-text places (buttons, alerts, command menus): nothing is escaped."""
        return self._texts[key].format(**values)
