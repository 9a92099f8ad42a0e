"""Texts of background drafting and of conversations that survive restarts (issue 13)."""

from __future__ import annotations

EN: dict[str, str] = {
    "bg.btn.cancel": "✖️ Cancel",
    "bg.cancelled": "✖️ Drafting cancelled: nothing was saved.",
    "bg.regen_cancelled": "Rewriting stopped: draft #{post_id} is as it was.",
    "bg.too_late": "Too late to cancel: the draft is already written.",
    "bg.not_running": "This draft is no longer being written.",
    "bg.busy": "Draft #{post_id} is being rewritten already: wait for it, or cancel it.",
    "bg.stopping": (
        "⏸ Nexus is stopping, so this draft was interrupted. I will remind you when I am back."
    ),
    "bg.interrupted": (
        "⚠️ Your draft about “{about}” was interrupted by a restart. Nothing was saved: tap"
        " Retry to write it again."
    ),
    "bg.interrupted_regen": (
        "⚠️ Rewriting draft #{post_id} was interrupted by a restart; the draft is as it was."
        " Tap Retry to rewrite it again."
    ),
    "bg.btn.retry": "↻ Retry",
    "acc.form_expired": (
        "⌛ This connection form ran out: the values typed into it are kept in memory for"
        " {minutes} minutes at most, and never across a restart. Nothing was saved: start"
        " again from /accounts."
    ),
}

RU: dict[str, str] = {
    "bg.btn.cancel": "✖️ Отменить",
    "bg.cancelled": "✖️ Черновик отменён: ничего не сохранено.",
    "bg.regen_cancelled": "Переписывание остановлено: черновик #{post_id} остался прежним.",
    "bg.too_late": "Отменять поздно: черновик уже написан.",
    "bg.not_running": "Этот черновик уже не пишется.",
    "bg.busy": "Черновик #{post_id} уже переписывается: дождитесь или отмените.",
    "bg.stopping": ("⏸ Nexus останавливается, и черновик прерван. Я напомню о нём, когда вернусь."),
    "bg.interrupted": (
        "⚠️ Черновик про «{about}» прервался из-за перезапуска. Ничего не сохранено: нажмите"
        " «Повторить», чтобы написать его снова."
    ),
    "bg.interrupted_regen": (
        "⚠️ Переписывание черновика #{post_id} прервалось из-за перезапуска; черновик остался"
        " прежним. Нажмите «Повторить», чтобы переписать его снова."
    ),
    "bg.btn.retry": "↻ Повторить",
    "acc.form_expired": (
        "⌛ Форма подключения устарела: введённые значения хранятся в памяти не дольше"
        " {minutes} минут и не переживают перезапуск. Ничего не сохранено: начните заново"
        " с /accounts."
    ),
}

UK: dict[str, str] = {
    "bg.btn.cancel": "✖️ Скасувати",
    "bg.cancelled": "✖️ Чернетку скасовано: нічого не збережено.",
    "bg.regen_cancelled": "Переписування зупинено: чернетка #{post_id} залишилася як була.",
    "bg.too_late": "Скасовувати запізно: чернетку вже написано.",
    "bg.not_running": "Ця чернетка вже не пишеться.",
    "bg.busy": "Чернетка #{post_id} вже переписується: дочекайтеся або скасуйте.",
    "bg.stopping": (
        "⏸ Nexus зупиняється, тож чернетку перервано. Я нагадаю про неї, коли повернуся."
    ),
    "bg.interrupted": (
        "⚠️ Чернетку про «{about}» перервано через перезапуск. Нічого не збережено: натисніть"
        " «Повторити», щоб написати її знову."
    ),
    "bg.interrupted_regen": (
        "⚠️ Переписування чернетки #{post_id} перервано через перезапуск; чернетка залишилася"
        " як була. Натисніть «Повторити», щоб переписати її знову."
    ),
    "bg.btn.retry": "↻ Повторити",
    "acc.form_expired": (
        "⌛ Форма підключення застаріла: введені значення зберігаються в пам'яті не довше"
        " {minutes} хвилин і не переживають перезапуск. Нічого не збережено: почніть знову"
        " з /accounts."
    ),
}

EN_PLURALS: dict[str, tuple[str, ...]] = {
    "bg.stopped": (
        "Stopped {count} draft that was being written.",
        "Stopped {count} drafts that were being written.",
    ),
}

RU_PLURALS: dict[str, tuple[str, ...]] = {
    "bg.stopped": (
        "Остановлен {count} черновик, который писался.",
        "Остановлены {count} черновика, которые писались.",
        "Остановлено {count} черновиков, которые писались.",
    ),
}

UK_PLURALS: dict[str, tuple[str, ...]] = {
    "bg.stopped": (
        "Зупинено {count} чернетку, яка писалася.",
        "Зупинено {count} чернетки, які писалися.",
        "Зупинено {count} чернеток, які писалися.",
    ),
}
