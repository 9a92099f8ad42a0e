"""Texts of reply-to-steer, briefs from links and forwards, and /plan (EN, RU, UK)."""

from __future__ import annotations

EN: dict[str, str] = {
    "steer.changes": "✏️ <b>Changed:</b> {changes}",
    "steer.same": "nothing, the text is the same",
    "steer.empty_replace": (
        "After “=” comes the new text of draft #{post_id}, e.g. <code>= Dark mode is here</code>."
    ),
    "forward.empty": (
        "This forwarded message has no text I can draft from. Forward a post with text, or tell "
        "me what to post about."
    ),
    "link.reading": "📥 Reading {url} …",
    "link.unusable": (
        "I couldn't read {url}: {reason}.\n\nI can still draft from the link alone (and what "
        "you wrote next to it), or send me the page's text."
    ),
    "btn.link_alone": "✍️ Draft from the link alone",
}

RU: dict[str, str] = {
    "steer.changes": "✏️ <b>Изменения:</b> {changes}",
    "steer.same": "никаких, текст тот же",
    "steer.empty_replace": (
        "После «=» пишется новый текст черновика #{post_id}, например "
        "<code>= Тёмная тема уже здесь</code>."
    ),
    "forward.empty": (
        "В пересланном сообщении нет текста, из которого можно сделать черновик. Перешлите пост "
        "с текстом или напишите, о чём пост."
    ),
    "link.reading": "📥 Читаю {url} …",
    "link.unusable": (
        "Не получилось прочитать {url}: {reason}.\n\nМогу написать черновик по одной ссылке "
        "(и вашим словам рядом с ней), или пришлите текст страницы."
    ),
    "btn.link_alone": "✍️ Черновик по одной ссылке",
}

UK: dict[str, str] = {
    "steer.changes": "✏️ <b>Зміни:</b> {changes}",
    "steer.same": "жодних, текст той самий",
    "steer.empty_replace": (
        "Після «=» пишеться новий текст чернетки #{post_id}, наприклад "
        "<code>= Темна тема вже тут</code>."
    ),
    "forward.empty": (
        "У пересланому повідомленні немає тексту, з якого можна зробити чернетку. Перешліть "
        "пост із текстом або напишіть, про що пост."
    ),
    "link.reading": "📥 Читаю {url} …",
    "link.unusable": (
        "Не вдалося прочитати {url}: {reason}.\n\nМожу написати чернетку лише за посиланням "
        "(і вашими словами поруч), або надішліть текст сторінки."
    ),
    "btn.link_alone": "✍️ Чернетка лише за посиланням",
}

EN_PLURALS: dict[str, tuple[str, ...]] = {}
RU_PLURALS: dict[str, tuple[str, ...]] = {}
UK_PLURALS: dict[str, tuple[str, ...]] = {}
