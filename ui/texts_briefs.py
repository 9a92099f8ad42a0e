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
    "cmd.plan": "Plan a week of posts: /plan <theme>, next week, 5 posts",
    "plan.bad_horizon": (
        "I plan up to {limit} weeks ahead. Ask for a shorter horizon, e.g. <code>/plan "
        "launch of v2.3, next week</code>."
    ),
    "plan.bad_count": (
        "A plan has 1 to {limit} posts. Ask for fewer, e.g. <code>/plan launch of v2.3, next "
        "week, 5 posts</code>."
    ),
    "plan.no_accounts": "No account to post to yet: connect one with /accounts, then /plan again.",
    "plan.too_few_slots": (
        "Only {free} free slots between {span} for {count} posts: the queue or your /slots leave "
        "no more. Ask for fewer posts or a longer horizon (<code>/plan …, in 2 weeks</code>), or "
        "add slots with /slots."
    ),
    "plan.nothing_to_plan": (
        "Nothing happened lately to plan from (no events or feed items in two weeks). Give me a "
        "theme: <code>/plan launch of v2.3, next week, 5 posts</code>"
    ),
    "plan.try_again": "Nothing was planned. Send /plan again.",
    "plan.card_post": "<b>{number}. {when}</b> · {platforms}\n<i>{angle}</i>\n{snippet}",
    "plan.card_hint": "Approve all to schedule every post now, or review them one by one.",
    "plan.btn_approve": "✅ Approve all",
    "plan.btn_review": "👀 Review one by one",
    "plan.btn_discard": "🗑 Discard",
    "plan.btn_planned": "📣 Planned slot: {when}",
    "plan.gone": "This plan is no longer there. Send /plan for a new one.",
    "plan.already_approved": "This plan is already approved: its posts are in /queue.",
    "plan.already_reviewing": "This plan's posts are already drafts: see /drafts.",
    "plan.already_discarded": "This plan was discarded. Send /plan for a new one.",
    "plan.already_gone": "This plan is no longer there. Send /plan for a new one.",
    "plan.already_draft": (
        "A post of this plan changed meanwhile; nothing was scheduled. Try again."
    ),
    "plan.clash": (
        "⚠️ Nothing was scheduled: these slots were taken in the queue since the plan was made: "
        "{taken}. Review the posts one by one, or discard and /plan again."
    ),
    "plan.discarded": "🗑 Plan “{title}” discarded; nothing was drafted.",
    "plan.preview_campaign": "📣 Campaign “{title}”",
    "plan.queue_group": "📣 <b>{title}</b>: {items}",
    "plan.invalid": (
        "⚠️ Claude's plan did not hold together twice ({problems}). Nothing was planned: send "
        "/plan again, or ask for fewer posts or a longer horizon."
    ),
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
    "cmd.plan": "План постов на неделю: /plan <тема>, следующая неделя, 5 постов",
    "plan.bad_horizon": (
        "Я планирую не дальше чем на {limit} недель. Возьмите срок короче, например "
        "<code>/plan запуск v2.3, на следующей неделе</code>."
    ),
    "plan.bad_count": (
        "В плане от 1 до {limit} постов. Попросите меньше, например <code>/plan запуск v2.3, "
        "на следующей неделе, 5 постов</code>."
    ),
    "plan.no_accounts": (
        "Пока некуда публиковать: подключите аккаунт в /accounts, затем снова /plan."
    ),
    "plan.too_few_slots": (
        "Свободных слотов в {span} только {free}, а постов {count}: очередь или ваши /slots не "
        "оставляют больше. Попросите меньше постов или срок длиннее (<code>/plan …, через 2 "
        "недели</code>), или добавьте слоты в /slots."
    ),
    "plan.nothing_to_plan": (
        "В последние две недели не было событий и записей лент, из которых составить план. "
        "Назовите тему: <code>/plan запуск v2.3, на следующей неделе, 5 постов</code>"
    ),
    "plan.try_again": "План не составлен. Отправьте /plan ещё раз.",
    "plan.card_post": "<b>{number}. {when}</b> · {platforms}\n<i>{angle}</i>\n{snippet}",
    "plan.card_hint": (
        "«Одобрить все» поставит все посты в расписание, или просмотрите их по одному."
    ),
    "plan.btn_approve": "✅ Одобрить все",
    "plan.btn_review": "👀 По одному",
    "plan.btn_discard": "🗑 Отбросить",
    "plan.btn_planned": "📣 Слот из плана: {when}",
    "plan.gone": "Этого плана больше нет. Отправьте /plan для нового.",
    "plan.already_approved": "Этот план уже одобрен: его посты в /queue.",
    "plan.already_reviewing": "Посты этого плана уже стали черновиками: см. /drafts.",
    "plan.already_discarded": "Этот план отброшен. Отправьте /plan для нового.",
    "plan.already_gone": "Этого плана больше нет. Отправьте /plan для нового.",
    "plan.already_draft": (
        "Пост этого плана тем временем изменился; ничего не запланировано. Попробуйте ещё раз."
    ),
    "plan.clash": (
        "⚠️ Ничего не запланировано: эти слоты заняли в очереди, пока план ждал: {taken}. "
        "Просмотрите посты по одному или отбросьте план и снова /plan."
    ),
    "plan.discarded": "🗑 План «{title}» отброшен, черновиков нет.",
    "plan.preview_campaign": "📣 Кампания «{title}»",
    "plan.queue_group": "📣 <b>{title}</b>: {items}",
    "plan.invalid": (
        "⚠️ План от Claude дважды не сложился ({problems}). Ничего не запланировано: отправьте "
        "/plan ещё раз или попросите меньше постов или срок длиннее."
    ),
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
    "cmd.plan": "План постів на тиждень: /plan <тема>, наступного тижня, 5 постів",
    "plan.bad_horizon": (
        "Я планую не далі ніж на {limit} тижнів. Візьміть коротший строк, наприклад "
        "<code>/plan запуск v2.3, наступного тижня</code>."
    ),
    "plan.bad_count": (
        "У плані від 1 до {limit} постів. Попросіть менше, наприклад <code>/plan запуск "
        "v2.3, наступного тижня, 5 постів</code>."
    ),
    "plan.no_accounts": (
        "Поки нема куди публікувати: підключіть акаунт у /accounts, потім знову /plan."
    ),
    "plan.too_few_slots": (
        "Вільних слотів у {span} лише {free}, а постів {count}: черга або ваші /slots не "
        "залишають більше. Попросіть менше постів або довший строк (<code>/plan …, 2 "
        "тижні</code>), або додайте слоти в /slots."
    ),
    "plan.nothing_to_plan": (
        "За останні два тижні не було подій і записів стрічок, з яких скласти план. Назвіть "
        "тему: <code>/plan запуск v2.3, наступного тижня, 5 постів</code>"
    ),
    "plan.try_again": "План не складено. Надішліть /plan ще раз.",
    "plan.card_post": "<b>{number}. {when}</b> · {platforms}\n<i>{angle}</i>\n{snippet}",
    "plan.card_hint": "«Схвалити всі» поставить усі пости в розклад, або перегляньте їх по одному.",
    "plan.btn_approve": "✅ Схвалити всі",
    "plan.btn_review": "👀 По одному",
    "plan.btn_discard": "🗑 Відкинути",
    "plan.btn_planned": "📣 Слот із плану: {when}",
    "plan.gone": "Цього плану більше немає. Надішліть /plan для нового.",
    "plan.already_approved": "Цей план уже схвалено: його пости в /queue.",
    "plan.already_reviewing": "Пости цього плану вже стали чернетками: див. /drafts.",
    "plan.already_discarded": "Цей план відкинуто. Надішліть /plan для нового.",
    "plan.already_gone": "Цього плану більше немає. Надішліть /plan для нового.",
    "plan.already_draft": (
        "Пост цього плану тим часом змінився; нічого не заплановано. Спробуйте ще раз."
    ),
    "plan.clash": (
        "⚠️ Нічого не заплановано: ці слоти зайняли в черзі, поки план чекав: {taken}. "
        "Перегляньте пости по одному або відкиньте план і знову /plan."
    ),
    "plan.discarded": "🗑 План «{title}» відкинуто, чернеток немає.",
    "plan.preview_campaign": "📣 Кампанія «{title}»",
    "plan.queue_group": "📣 <b>{title}</b>: {items}",
    "plan.invalid": (
        "⚠️ План від Claude двічі не склався ({problems}). Нічого не заплановано: надішліть "
        "/plan ще раз або попросіть менше постів чи довший строк."
    ),
}

EN_PLURALS: dict[str, tuple[str, ...]] = {
    "plan.planning": ("🗓 Planning {count} post…", "🗓 Planning {count} posts…"),
    "plan.card_title": (
        "🗓 <b>Plan: {title}</b>, {count} post",
        "🗓 <b>Plan: {title}</b>, {count} posts",
    ),
    "plan.approved": (
        "✅ Campaign “{title}”: {count} post scheduled. /queue shows it.",
        "✅ Campaign “{title}”: {count} posts scheduled. /queue shows them.",
    ),
    "plan.reviewing": (
        "👀 Campaign “{title}”: {count} draft follows. Under 🗓 Schedule, its planned slot "
        "comes first.",
        "👀 Campaign “{title}”: {count} drafts follow. Under 🗓 Schedule, each one's planned "
        "slot comes first.",
    ),
    "plan.stats_line": (
        "📣 Campaign “{title}”: {count} post, {published} published, {views} views",
        "📣 Campaign “{title}”: {count} posts, {published} published, {views} views",
    ),
}
RU_PLURALS: dict[str, tuple[str, ...]] = {
    "plan.planning": (
        "🗓 Планирую {count} пост…",
        "🗓 Планирую {count} поста…",
        "🗓 Планирую {count} постов…",
    ),
    "plan.card_title": (
        "🗓 <b>План: {title}</b>, {count} пост",
        "🗓 <b>План: {title}</b>, {count} поста",
        "🗓 <b>План: {title}</b>, {count} постов",
    ),
    "plan.approved": (
        "✅ Кампания «{title}»: {count} пост в расписании. Он в /queue.",
        "✅ Кампания «{title}»: {count} поста в расписании. Они в /queue.",
        "✅ Кампания «{title}»: {count} постов в расписании. Они в /queue.",
    ),
    "plan.reviewing": (
        "👀 Кампания «{title}»: ниже {count} черновик. В 🗓 Расписании первым идёт слот из плана.",
        "👀 Кампания «{title}»: ниже {count} черновика. В 🗓 Расписании первым идёт слот из плана.",
        "👀 Кампания «{title}»: ниже {count} черновиков. В 🗓 Расписании первым идёт слот из плана.",
    ),
    "plan.stats_line": (
        "📣 Кампания «{title}»: {count} пост, опубликовано {published}, просмотров {views}",
        "📣 Кампания «{title}»: {count} поста, опубликовано {published}, просмотров {views}",
        "📣 Кампания «{title}»: {count} постов, опубликовано {published}, просмотров {views}",
    ),
}
UK_PLURALS: dict[str, tuple[str, ...]] = {
    "plan.planning": (
        "🗓 Планую {count} пост…",
        "🗓 Планую {count} пости…",
        "🗓 Планую {count} постів…",
    ),
    "plan.card_title": (
        "🗓 <b>План: {title}</b>, {count} пост",
        "🗓 <b>План: {title}</b>, {count} пости",
        "🗓 <b>План: {title}</b>, {count} постів",
    ),
    "plan.approved": (
        "✅ Кампанія «{title}»: {count} пост у розкладі. Він у /queue.",
        "✅ Кампанія «{title}»: {count} пости в розкладі. Вони в /queue.",
        "✅ Кампанія «{title}»: {count} постів у розкладі. Вони в /queue.",
    ),
    "plan.reviewing": (
        "👀 Кампанія «{title}»: нижче {count} чернетка. У 🗓 Розкладі першим іде слот із плану.",
        "👀 Кампанія «{title}»: нижче {count} чернетки. У 🗓 Розкладі першим іде слот із плану.",
        "👀 Кампанія «{title}»: нижче {count} чернеток. У 🗓 Розкладі першим іде слот із плану.",
    ),
    "plan.stats_line": (
        "📣 Кампанія «{title}»: {count} пост, опубліковано {published}, переглядів {views}",
        "📣 Кампанія «{title}»: {count} пости, опубліковано {published}, переглядів {views}",
        "📣 Кампанія «{title}»: {count} постів, опубліковано {published}, переглядів {views}",
    ),
}
