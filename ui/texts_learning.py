"""Texts of learning: the rejection reason, learned preferences in /voice, the acceptance
figures in /stats and the weekly digest, and the forecast on a preview."""

from __future__ import annotations

EN: dict[str, str] = {
    "learn.reason.ask": "Why not #{post_id}? One tap helps me learn (optional).",
    "learn.reason.too_long": "Too long",
    "learn.reason.off_brand": "Off-brand",
    "learn.reason.wrong_facts": "Wrong facts",
    "learn.reason.tone": "Tone",
    "learn.reason.not_now": "Not now",
    "learn.reason.noted": "Noted for #{post_id}: {reason}. Thanks!",
    "learn.reason.gone": "Draft #{post_id} is no longer rejected: nothing to note.",
    "learn.voice.head": "🧠 <b>Learned from your decisions</b>",
    "learn.voice.none": (
        "Nothing learned yet. Approve, edit, regenerate or reject a few drafts, then tap"
        " “Learn from my decisions now”."
    ),
    "learn.voice.item": "{index}. {text}",
    "learn.voice.hint": "Tap 🗑 to drop one: it will not come back.",
    "learn.btn.now": "🧠 Learn from my decisions now",
    "learn.btn.drop": "🗑 {index}. {text}",
    "learn.working": "🧠 Reading your decisions…",
    "learn.nothing": "There are no decisions to learn from yet: approve, edit or reject a draft.",
    "learn.busy": "I am already learning from your decisions; try again in a minute.",
    "learn.failed": "Learning failed, nothing was changed. {reason}",
    "learn.dropped": "Dropped: {text}",
    "learn.drop_gone": "That preference is already gone.",
    "learn.stats.accepted": "AI drafts approved as written: {accepted} of {total} ({share})",
    "learn.stats.up": "↑ from {previous} last week",
    "learn.stats.down": "↓ from {previous} last week",
    "learn.stats.same": "same as last week",
    "learn.stats.none": "AI drafts approved as written: no AI draft approved in the last 7 days",
    "learn.stats.median": "Median change before approval: {share} of words",
    "learn.stats.weeks": "Approved as written, past weeks: {weeks}",
    "learn.digest.new": (
        "🧠 This week, AI drafts approved as written: {accepted} of {total} ({share})"
    ),
    "learn.digest.up": (
        "🧠 This week, AI drafts approved as written: {accepted} of {total} ({share})"
        ", ↑ from {previous} last week"
    ),
    "learn.digest.down": (
        "🧠 This week, AI drafts approved as written: {accepted} of {total} ({share})"
        ", ↓ from {previous} last week"
    ),
    "learn.digest.same": (
        "🧠 This week, AI drafts approved as written: {accepted} of {total} ({share})"
        ", same as last week"
    ),
    "learn.digest.median": "Median change before approval: {share} of words",
    "learn.forecast.above": "📈 Forecast: likely above your median. Main reason: {reason}",
    "learn.forecast.about": "➖ Forecast: about your median. Main factor: {reason}",
    "learn.forecast.below": "📉 Forecast: likely below your median. Main reason: {reason}",
    "learn.forecast.hour": "{bucket} posts get {ratio}× the median",
    "learn.forecast.length": "{bucket} posts get {ratio}× the median",
    "learn.forecast.media": "{bucket} get {ratio}× the median",
    "learn.forecast.hashtags": "{bucket} get {ratio}× the median",
    "learn.bucket.night": "night",
    "learn.bucket.morning": "morning",
    "learn.bucket.afternoon": "afternoon",
    "learn.bucket.evening": "evening",
    "learn.bucket.short": "short",
    "learn.bucket.medium": "medium-length",
    "learn.bucket.long": "long",
    "learn.bucket.media_yes": "posts with images",
    "learn.bucket.media_no": "posts without images",
    "learn.bucket.tags_yes": "posts with hashtags",
    "learn.bucket.tags_no": "posts without hashtags",
}

RU: dict[str, str] = {
    "learn.reason.ask": "Почему нет, #{post_id}? Один тап поможет мне учиться (необязательно).",
    "learn.reason.too_long": "Слишком длинно",
    "learn.reason.off_brand": "Не наш стиль",
    "learn.reason.wrong_facts": "Неверные факты",
    "learn.reason.tone": "Тон",
    "learn.reason.not_now": "Не сейчас",
    "learn.reason.noted": "Учту для #{post_id}: {reason}. Спасибо!",
    "learn.reason.gone": "Черновик #{post_id} уже не отклонён: отмечать нечего.",
    "learn.voice.head": "🧠 <b>Чему я научился по вашим решениям</b>",
    "learn.voice.none": (
        "Пока ничему. Одобрите, отредактируйте, перепишите или отклоните несколько черновиков,"
        " затем нажмите «Учиться на моих решениях»."
    ),
    "learn.voice.item": "{index}. {text}",
    "learn.voice.hint": "Нажмите 🗑, чтобы убрать правило: оно не вернётся.",
    "learn.btn.now": "🧠 Учиться на моих решениях",
    "learn.btn.drop": "🗑 {index}. {text}",
    "learn.working": "🧠 Читаю ваши решения…",
    "learn.nothing": "Учиться пока не на чем: одобрите, отредактируйте или отклоните черновик.",
    "learn.busy": "Я уже учусь на ваших решениях; попробуйте через минуту.",
    "learn.failed": "Не получилось научиться, ничего не изменилось. {reason}",
    "learn.dropped": "Убрано: {text}",
    "learn.drop_gone": "Этого правила уже нет.",
    "learn.stats.accepted": "Черновики ИИ, одобренные без правок: {accepted} из {total} ({share})",
    "learn.stats.up": "↑ с {previous} на прошлой неделе",
    "learn.stats.down": "↓ с {previous} на прошлой неделе",
    "learn.stats.same": "как на прошлой неделе",
    "learn.stats.none": "Черновики ИИ, одобренные без правок: за 7 дней ни одного одобрения",
    "learn.stats.median": "Медиана правок перед одобрением: {share} слов",
    "learn.stats.weeks": "Без правок по неделям: {weeks}",
    "learn.digest.new": (
        "🧠 За неделю черновиков ИИ одобрено без правок: {accepted} из {total} ({share})"
    ),
    "learn.digest.up": (
        "🧠 За неделю черновиков ИИ одобрено без правок: {accepted} из {total} ({share})"
        ", ↑ с {previous} на прошлой неделе"
    ),
    "learn.digest.down": (
        "🧠 За неделю черновиков ИИ одобрено без правок: {accepted} из {total} ({share})"
        ", ↓ с {previous} на прошлой неделе"
    ),
    "learn.digest.same": (
        "🧠 За неделю черновиков ИИ одобрено без правок: {accepted} из {total} ({share})"
        ", как на прошлой неделе"
    ),
    "learn.digest.median": "Медиана правок перед одобрением: {share} слов",
    "learn.forecast.above": "📈 Прогноз: скорее выше вашей медианы — {reason}",
    "learn.forecast.about": "➖ Прогноз: около вашей медианы — {reason}",
    "learn.forecast.below": "📉 Прогноз: скорее ниже вашей медианы — {reason}",
    "learn.forecast.hour": "посты ({bucket}) получают {ratio}× медианы",
    "learn.forecast.length": "посты ({bucket}) получают {ratio}× медианы",
    "learn.forecast.media": "{bucket} получают {ratio}× медианы",
    "learn.forecast.hashtags": "{bucket} получают {ratio}× медианы",
    "learn.bucket.night": "ночью",
    "learn.bucket.morning": "утром",
    "learn.bucket.afternoon": "днём",
    "learn.bucket.evening": "вечером",
    "learn.bucket.short": "короткие",
    "learn.bucket.medium": "средние",
    "learn.bucket.long": "длинные",
    "learn.bucket.media_yes": "посты с картинками",
    "learn.bucket.media_no": "посты без картинок",
    "learn.bucket.tags_yes": "посты с хэштегами",
    "learn.bucket.tags_no": "посты без хэштегов",
}

UK: dict[str, str] = {
    "learn.reason.ask": "Чому ні, #{post_id}? Один дотик допоможе мені вчитися (необов'язково).",
    "learn.reason.too_long": "Задовго",
    "learn.reason.off_brand": "Не наш стиль",
    "learn.reason.wrong_facts": "Хибні факти",
    "learn.reason.tone": "Тон",
    "learn.reason.not_now": "Не зараз",
    "learn.reason.noted": "Врахую для #{post_id}: {reason}. Дякую!",
    "learn.reason.gone": "Чернетка #{post_id} вже не відхилена: нічого позначати.",
    "learn.voice.head": "🧠 <b>Чого я навчився з ваших рішень</b>",
    "learn.voice.none": (
        "Поки нічого. Схваліть, відредагуйте, перепишіть або відхиліть кілька чернеток,"
        " потім натисніть «Вчитися на моїх рішеннях»."
    ),
    "learn.voice.item": "{index}. {text}",
    "learn.voice.hint": "Натисніть 🗑, щоб прибрати правило: воно не повернеться.",
    "learn.btn.now": "🧠 Вчитися на моїх рішеннях",
    "learn.btn.drop": "🗑 {index}. {text}",
    "learn.working": "🧠 Читаю ваші рішення…",
    "learn.nothing": "Поки немає на чому вчитися: схваліть, відредагуйте або відхиліть чернетку.",
    "learn.busy": "Я вже вчуся на ваших рішеннях; спробуйте за хвилину.",
    "learn.failed": "Не вдалося навчитися, нічого не змінено. {reason}",
    "learn.dropped": "Прибрано: {text}",
    "learn.drop_gone": "Цього правила вже немає.",
    "learn.stats.accepted": "Чернетки ШІ, схвалені без правок: {accepted} з {total} ({share})",
    "learn.stats.up": "↑ з {previous} минулого тижня",
    "learn.stats.down": "↓ з {previous} минулого тижня",
    "learn.stats.same": "як минулого тижня",
    "learn.stats.none": "Чернетки ШІ, схвалені без правок: за 7 днів жодного схвалення",
    "learn.stats.median": "Медіана правок перед схваленням: {share} слів",
    "learn.stats.weeks": "Без правок по тижнях: {weeks}",
    "learn.digest.new": (
        "🧠 За тиждень чернеток ШІ схвалено без правок: {accepted} з {total} ({share})"
    ),
    "learn.digest.up": (
        "🧠 За тиждень чернеток ШІ схвалено без правок: {accepted} з {total} ({share})"
        ", ↑ з {previous} минулого тижня"
    ),
    "learn.digest.down": (
        "🧠 За тиждень чернеток ШІ схвалено без правок: {accepted} з {total} ({share})"
        ", ↓ з {previous} минулого тижня"
    ),
    "learn.digest.same": (
        "🧠 За тиждень чернеток ШІ схвалено без правок: {accepted} з {total} ({share})"
        ", як минулого тижня"
    ),
    "learn.digest.median": "Медіана правок перед схваленням: {share} слів",
    "learn.forecast.above": "📈 Прогноз: швидше вище за вашу медіану — {reason}",
    "learn.forecast.about": "➖ Прогноз: приблизно ваша медіана — {reason}",
    "learn.forecast.below": "📉 Прогноз: швидше нижче за вашу медіану — {reason}",
    "learn.forecast.hour": "пости ({bucket}) отримують {ratio}× медіани",
    "learn.forecast.length": "пости ({bucket}) отримують {ratio}× медіани",
    "learn.forecast.media": "{bucket} отримують {ratio}× медіани",
    "learn.forecast.hashtags": "{bucket} отримують {ratio}× медіани",
    "learn.bucket.night": "вночі",
    "learn.bucket.morning": "вранці",
    "learn.bucket.afternoon": "вдень",
    "learn.bucket.evening": "увечері",
    "learn.bucket.short": "короткі",
    "learn.bucket.medium": "середні",
    "learn.bucket.long": "довгі",
    "learn.bucket.media_yes": "пости з картинками",
    "learn.bucket.media_no": "пости без картинок",
    "learn.bucket.tags_yes": "пости з хештегами",
    "learn.bucket.tags_no": "пости без хештегів",
}

EN_PLURALS: dict[str, tuple[str, ...]] = {
    "learn.done": (
        "🧠 Learned {count} preference from {decisions} recent decisions.",
        "🧠 Learned {count} preferences from {decisions} recent decisions.",
    ),
}
RU_PLURALS: dict[str, tuple[str, ...]] = {
    "learn.done": (
        "🧠 Выучено {count} правило по {decisions} последним решениям.",
        "🧠 Выучено {count} правила по {decisions} последним решениям.",
        "🧠 Выучено {count} правил по {decisions} последним решениям.",
    ),
}
UK_PLURALS: dict[str, tuple[str, ...]] = {
    "learn.done": (
        "🧠 Вивчено {count} правило з {decisions} останніх рішень.",
        "🧠 Вивчено {count} правила з {decisions} останніх рішень.",
        "🧠 Вивчено {count} правил з {decisions} останніх рішень.",
    ),
}
