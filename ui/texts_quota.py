"""Texts of costs and quotas: the approval card's per-target figure, the owner's message when a
used-up quota moves a target, and the month's platform spend in /stats."""

from __future__ import annotations

EN: dict[str, str] = {
    "usage.cost": " · ${cost}",
    "usage.cost_link": " · ${cost} (link)",
    "usage.posts_day": " · {used}/{limit} today",
    "usage.posts_hour": " · {used}/{limit} this hour",
    "usage.points_hour": " · {used} of {limit} points/h",
    "usage.points_day": " · {used} of {limit} points/day",
    "usage.full": " · ⏳ quota used up: it waits for a slot after the reset",
    "usage.unknown": " · quota unknown",
    "quota.moved": (
        "⏳ {target} has used {quota}; post #{post_id} moved to {when}, after the limit resets."
    ),
    "quota.any.day": "its posting limit for today",
    "quota.any.hour": "its posting limit for this hour",
    "quota.any.month": "its usage cap for this month",
    "stats.spend": "💸 This month: AI ${ai} · platforms ${platforms}{detail}",
}

RU: dict[str, str] = {
    "usage.cost": " · ${cost}",
    "usage.cost_link": " · ${cost} (ссылка)",
    "usage.posts_day": " · {used}/{limit} сегодня",
    "usage.posts_hour": " · {used}/{limit} за час",
    "usage.points_hour": " · {used} из {limit} очков/ч",
    "usage.points_day": " · {used} из {limit} очков/сутки",
    "usage.full": " · ⏳ лимит исчерпан: пост подождёт слота после сброса",
    "usage.unknown": " · лимит неизвестен",
    "quota.moved": (
        "⏳ {target} исчерпал {quota}; пост #{post_id} перенесён на {when}, после сброса лимита."
    ),
    "quota.any.day": "лимит публикаций на сегодня",
    "quota.any.hour": "лимит публикаций на этот час",
    "quota.any.month": "лимит расходов на этот месяц",
    "stats.spend": "💸 В этом месяце: ИИ ${ai} · платформы ${platforms}{detail}",
}

UK: dict[str, str] = {
    "usage.cost": " · ${cost}",
    "usage.cost_link": " · ${cost} (посилання)",
    "usage.posts_day": " · {used}/{limit} сьогодні",
    "usage.posts_hour": " · {used}/{limit} за годину",
    "usage.points_hour": " · {used} з {limit} балів/год",
    "usage.points_day": " · {used} з {limit} балів/добу",
    "usage.full": " · ⏳ ліміт вичерпано: допис чекатиме слота після скидання",
    "usage.unknown": " · ліміт невідомий",
    "quota.moved": (
        "⏳ {target} вичерпав {quota}; допис #{post_id} перенесено на {when}, після скидання "
        "ліміту."
    ),
    "quota.any.day": "ліміт публікацій на сьогодні",
    "quota.any.hour": "ліміт публікацій на цю годину",
    "quota.any.month": "ліміт витрат на цей місяць",
    "stats.spend": "💸 Цього місяця: ШІ ${ai} · платформи ${platforms}{detail}",
}

EN_PLURALS: dict[str, tuple[str, ...]] = {
    "usage.cost_thread": (" · ${cost} for {count} post", " · ${cost} for {count} posts"),
    "quota.posts.day": ("its {count} post for today", "its {count} posts for today"),
    "quota.posts.hour": ("its {count} post for this hour", "its {count} posts for this hour"),
    "quota.posts.month": ("its {count} post for this month", "its {count} posts for this month"),
    "quota.points.hour": (
        "its {count} write point for this hour",
        "its {count} write points for this hour",
    ),
    "quota.points.day": ("its {count} write point for today", "its {count} write points for today"),
    "stats.spend_platform": ("{platform} {count} post", "{platform} {count} posts"),
}

RU_PLURALS: dict[str, tuple[str, ...]] = {
    "usage.cost_thread": (
        " · ${cost} за {count} пост",
        " · ${cost} за {count} поста",
        " · ${cost} за {count} постов",
    ),
    "quota.posts.day": (
        "свой {count} пост на сегодня",
        "свои {count} поста на сегодня",
        "свои {count} постов на сегодня",
    ),
    "quota.posts.hour": (
        "свой {count} пост на этот час",
        "свои {count} поста на этот час",
        "свои {count} постов на этот час",
    ),
    "quota.posts.month": (
        "свой {count} пост на этот месяц",
        "свои {count} поста на этот месяц",
        "свои {count} постов на этот месяц",
    ),
    "quota.points.hour": (
        "своё {count} очко записи на этот час",
        "свои {count} очка записи на этот час",
        "свои {count} очков записи на этот час",
    ),
    "quota.points.day": (
        "своё {count} очко записи на сегодня",
        "свои {count} очка записи на сегодня",
        "свои {count} очков записи на сегодня",
    ),
    "stats.spend_platform": (
        "{platform} {count} пост",
        "{platform} {count} поста",
        "{platform} {count} постов",
    ),
}

UK_PLURALS: dict[str, tuple[str, ...]] = {
    "usage.cost_thread": (
        " · ${cost} за {count} допис",
        " · ${cost} за {count} дописи",
        " · ${cost} за {count} дописів",
    ),
    "quota.posts.day": (
        "свій {count} допис на сьогодні",
        "свої {count} дописи на сьогодні",
        "свої {count} дописів на сьогодні",
    ),
    "quota.posts.hour": (
        "свій {count} допис на цю годину",
        "свої {count} дописи на цю годину",
        "свої {count} дописів на цю годину",
    ),
    "quota.posts.month": (
        "свій {count} допис на цей місяць",
        "свої {count} дописи на цей місяць",
        "свої {count} дописів на цей місяць",
    ),
    "quota.points.hour": (
        "свій {count} бал запису на цю годину",
        "свої {count} бали запису на цю годину",
        "свої {count} балів запису на цю годину",
    ),
    "quota.points.day": (
        "свій {count} бал запису на сьогодні",
        "свої {count} бали запису на сьогодні",
        "свої {count} балів запису на сьогодні",
    ),
    "stats.spend_platform": (
        "{platform} {count} допис",
        "{platform} {count} дописи",
        "{platform} {count} дописів",
    ),
}
