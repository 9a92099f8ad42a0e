"""Inline keyboards. Each function returns the markup for one situation."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from scheduler.notify import AlertKind
from storage.models import Role
from storage.roles import RANKED
from ui.callbacks import (
    AccountAct,
    AccountCb,
    BrandCb,
    DraftAct,
    DraftCb,
    DraftsPageCb,
    ImageAct,
    ImageCb,
    LogPageCb,
    MuteCb,
    OpenDraftCb,
    PlanAct,
    PlanCb,
    PlatformCb,
    PostAct,
    PostCb,
    PostStatsCb,
    PubAct,
    PubCb,
    QueuePageCb,
    RegenCb,
    RuleAct,
    RuleCb,
    ScheduleCb,
    SchedulePick,
    SourceAct,
    SourceCb,
    StatsCb,
    TakeDownAct,
    TakeDownCb,
    TeamAct,
    TeamCb,
    TimezoneCb,
    VariantAct,
    VariantCb,
    VoiceCb,
    VoiceField,
    VoiceWholeCb,
)
from ui.texts import Texts

#: Regeneration presets: (catalogue key of the button, instruction given to the AI).
REGEN_PRESETS: tuple[tuple[str, str | None], ...] = (
    ("regen.shorter", "Make it noticeably shorter."),
    ("regen.longer", "Make it longer, with more detail."),
    ("regen.formal", "Make the tone more formal."),
    ("regen.casual", "Make the tone more casual and friendly."),
    ("regen.cta", "End with a clear call to action."),
    ("regen.again", None),
)
#: RegenCb.preset values that are not indexes into REGEN_PRESETS.
REGEN_ASK_OWN = -1  # ask the owner for an instruction
REGEN_REPLIED = -2  # retry: the instruction is the message the button's message replies to


def _button(text: str, callback: CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=callback.pack())


def _rows(*rows: list[InlineKeyboardButton]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=list(rows))


def draft_keyboard(
    t: Texts, post_id: int, version: int, *, variants: bool = False, images: int = 0
) -> InlineKeyboardMarkup:
    """The preview's buttons; ``variants`` adds the way into the per-target view, ``images``
    (how many are attached) the way into the images view."""

    def cb(act: DraftAct) -> DraftCb:
        return DraftCb(act=act, post=post_id, v=version)

    rows = [
        [
            _button(t.plain("btn.approve"), cb(DraftAct.APPROVE)),
            _button(t.plain("btn.schedule"), cb(DraftAct.SCHEDULE)),
        ],
        [
            _button(t.plain("btn.edit"), cb(DraftAct.EDIT)),
            _button(t.plain("btn.regenerate"), cb(DraftAct.REGENERATE)),
            _button(t.plain("btn.reject"), cb(DraftAct.REJECT)),
        ],
    ]
    extra = []
    if variants:
        extra.append(_button(t.plain("btn.variants"), cb(DraftAct.VARIANTS)))
    if images:
        extra.append(_button(t.plain("btn.images", count=images), cb(DraftAct.IMAGES)))
    if extra:
        rows.append(extra)
    return _rows(*rows)


def variant_keyboard(
    t: Texts, post_id: int, version: int, accounts: list[int], current: int, *, enabled: bool
) -> InlineKeyboardMarkup:
    """Switch between a draft's targets (cyclic), edit or switch off the one shown, go back."""

    def cb(act: VariantAct, account: int = current) -> VariantCb:
        return VariantCb(act=act, post=post_id, v=version, acc=account)

    index = accounts.index(current)
    rows = []
    if len(accounts) > 1:
        rows.append(
            [
                _button(t.plain("btn.prev_target"), cb(VariantAct.SHOW, accounts[index - 1])),
                _button(
                    t.plain("btn.next_target"),
                    cb(VariantAct.SHOW, accounts[(index + 1) % len(accounts)]),
                ),
            ]
        )
    rows.append(
        [
            _button(t.plain("btn.edit_variant"), cb(VariantAct.EDIT)),
            _button(t.plain("btn.regenerate_variant"), cb(VariantAct.REGENERATE)),
        ]
    )
    rows.append(
        [_button(t.plain("btn.target_off" if enabled else "btn.target_on"), cb(VariantAct.TOGGLE))]
    )
    rows.append([_button(t.plain("btn.back"), DraftCb(act=DraftAct.BACK, post=post_id, v=version))])
    return _rows(*rows)


def regenerate_keyboard(
    t: Texts, post_id: int, version: int, *, account: int = 0
) -> InlineKeyboardMarkup:
    """The ways to rewrite a draft, or only its text for target ``account`` (0: the whole
    draft); Back returns to where the owner came from."""

    def cb(preset: int) -> RegenCb:
        return RegenCb(post=post_id, preset=preset, acc=account)

    builder = InlineKeyboardBuilder()
    for index, (key, _instruction) in enumerate(REGEN_PRESETS):
        builder.add(_button(t.plain(key), cb(index)))
    builder.add(_button(t.plain("regen.own"), cb(REGEN_ASK_OWN)))
    back: CallbackData = (
        VariantCb(act=VariantAct.SHOW, post=post_id, v=version, acc=account)
        if account
        else DraftCb(act=DraftAct.BACK, post=post_id, v=version)
    )
    builder.add(_button(t.plain("btn.back"), back))
    builder.adjust(2, 2, 2, 1, 1)
    return builder.as_markup()


#: Remove buttons per row in the images view (Telegram shows up to 8; 5 stay tappable).
IMAGE_BUTTONS_PER_ROW = 5


def images_keyboard(
    t: Texts, post_id: int, version: int, media_ids: list[int]
) -> InlineKeyboardMarkup:
    """🗑 1 … 🗑 N (one per attached image, in order), then Show and Remove all, then Back."""

    def cb(act: ImageAct, media: int = 0) -> ImageCb:
        return ImageCb(act=act, post=post_id, v=version, media=media)

    removes = [
        _button(t.plain("btn.image_remove", number=number), cb(ImageAct.REMOVE, media_id))
        for number, media_id in enumerate(media_ids, start=1)
    ]
    rows = [
        removes[i : i + IMAGE_BUTTONS_PER_ROW]
        for i in range(0, len(removes), IMAGE_BUTTONS_PER_ROW)
    ]
    if media_ids:
        rows.append(
            [
                _button(t.plain("btn.images_show"), cb(ImageAct.SHOW)),
                _button(t.plain("btn.images_clear"), cb(ImageAct.CLEAR)),
            ]
        )
    rows.append([_button(t.plain("btn.back"), DraftCb(act=DraftAct.BACK, post=post_id, v=version))])
    return _rows(*rows)


def single_button(text: str, callback: CallbackData) -> InlineKeyboardMarkup:
    return _rows([_button(text, callback)])


def _paged(
    t: Texts,
    rows: list[list[InlineKeyboardButton]],
    page: int,
    has_next: bool,
    page_cb: type[DraftsPageCb] | type[QueuePageCb],
) -> InlineKeyboardMarkup:
    """A list of buttons with ‹ Newer / Older › navigation under it."""
    nav = []
    if page > 0:
        nav.append(_button(t.plain("btn.prev"), page_cb(page=page - 1)))
    if has_next:
        nav.append(_button(t.plain("btn.next"), page_cb(page=page + 1)))
    return InlineKeyboardMarkup(inline_keyboard=rows + ([nav] if nav else []))


def drafts_keyboard(
    t: Texts, items: list[tuple[int, str]], page: int, has_next: bool
) -> InlineKeyboardMarkup:
    rows = [
        [_button(t.plain("btn.open", post_id=post_id, snippet=snippet), OpenDraftCb(post=post_id))]
        for post_id, snippet in items
    ]
    return _paged(t, rows, page, has_next, DraftsPageCb)


def voice_keyboard(t: Texts, *, whole: bool = False) -> InlineKeyboardMarkup:
    """The field buttons and Clear; ``whole`` adds "📄 Show whole" (some field is clipped)."""
    builder = InlineKeyboardBuilder()
    for field in VoiceField:
        label = t.plain(f"voice.field.{field.value}")
        builder.add(_button(label[:1].upper() + label[1:], VoiceCb(field=field)))
    builder.add(_button(t.plain("voice.clear"), VoiceCb(field=None)))
    if whole:
        builder.add(_button(t.plain("btn.whole"), VoiceWholeCb()))
    builder.adjust(3, 2, 1, 1)
    return builder.as_markup()


def schedule_keyboard(
    t: Texts, post_id: int, *, evening_today: bool, back: CallbackData
) -> InlineKeyboardMarkup:
    def cb(pick: SchedulePick) -> ScheduleCb:
        return ScheduleCb(post=post_id, pick=pick)

    evening = "sched.evening" if evening_today else "sched.evening_tomorrow"
    return _rows(
        [
            _button(t.plain("sched.in_1h"), cb(SchedulePick.IN_1H)),
            _button(t.plain(evening), cb(SchedulePick.EVENING)),
        ],
        [
            _button(t.plain("sched.tomorrow"), cb(SchedulePick.TOMORROW)),
            _button(t.plain("sched.slot"), cb(SchedulePick.SLOT)),
        ],
        [
            _button(t.plain("sched.other"), cb(SchedulePick.OTHER)),
            _button(t.plain("btn.back"), back),
        ],
    )


def scheduled_keyboard(
    t: Texts,
    post_id: int,
    *,
    evergreen: bool,
    waiting: bool = True,
    asking: Sequence[tuple[int, str]] = (),
) -> InlineKeyboardMarkup:
    """A scheduled post's card. Publish now / Reschedule / Cancel only while some target is
    still waiting for its time; a target the owner is asked about gets its answers here too."""

    def cb(act: PostAct) -> PostCb:
        return PostCb(act=act, post=post_id)

    rows = []
    if waiting:
        rows += [
            [_button(t.plain("btn.publish_now"), cb(PostAct.PUBLISH_NOW))],
            [
                _button(t.plain("btn.reschedule"), cb(PostAct.SCHEDULE_MENU)),
                _button(t.plain("btn.cancel_schedule"), cb(PostAct.CANCEL)),
            ],
        ]
    rows += [
        _unsure_row(t, pub_id, t.plain("btn.posted_on", target=target)) for pub_id, target in asking
    ]
    rows.append(
        [
            _button(t.plain("btn.repeat"), cb(PostAct.REPEAT)),
            _button(
                t.plain("btn.evergreen_on" if evergreen else "btn.evergreen_off"),
                cb(PostAct.EVERGREEN),
            ),
        ]
    )
    return _rows(*rows)


def failure_keyboard(t: Texts, post_id: int, *, can_edit: bool) -> InlineKeyboardMarkup:
    def cb(act: PostAct) -> PostCb:
        return PostCb(act=act, post=post_id)

    row = [_button(t.plain("btn.retry"), cb(PostAct.RETRY))]
    if can_edit:
        row.append(_button(t.plain("btn.edit_failed"), cb(PostAct.EDIT)))
    row.append(_button(t.plain("btn.drop"), cb(PostAct.DROP)))
    return _rows(row)


def overdue_keyboard(t: Texts, post_id: int) -> InlineKeyboardMarkup:
    def cb(act: PostAct) -> PostCb:
        return PostCb(act=act, post=post_id)

    return _rows(
        [
            _button(t.plain("btn.publish_now"), cb(PostAct.PUBLISH_NOW)),
            _button(t.plain("btn.reschedule"), cb(PostAct.SCHEDULE_MENU)),
        ],
        [_button(t.plain("btn.drop_overdue"), cb(PostAct.DROP_OVERDUE))],
    )


def _unsure_row(t: Texts, pub_id: int, posted: str) -> list[InlineKeyboardButton]:
    return [
        _button(posted, PubCb(act=PubAct.POSTED, pub=pub_id)),
        _button(t.plain("btn.send_again"), PubCb(act=PubAct.SEND_AGAIN, pub=pub_id)),
        _button(t.plain("btn.drop_unsure"), PubCb(act=PubAct.DROP, pub=pub_id)),
    ]


def unsure_keyboard(t: Texts, pub_id: int) -> InlineKeyboardMarkup:
    """Is it there? ✅ Yes / 🔁 Send again / 🗑 Drop."""
    return _rows(_unsure_row(t, pub_id, t.plain("btn.posted")))


def queue_keyboard(
    t: Texts, items: list[tuple[int, str]], page: int, has_next: bool
) -> InlineKeyboardMarkup:
    rows = [[_button(label, PostCb(act=PostAct.OPEN, post=post_id))] for post_id, label in items]
    return _paged(t, rows, page, has_next, QueuePageCb)


def timezone_keyboard(names: list[str]) -> InlineKeyboardMarkup:
    return _rows(*[[_button(name, TimezoneCb(name=name))] for name in names])


def accounts_keyboard(t: Texts, accounts: list[tuple[int, str, bool]]) -> InlineKeyboardMarkup:
    """(id, label, enabled) per account, then Connect."""
    rows = [
        [
            _button(
                t.plain("acc.btn.disable" if enabled else "acc.btn.enable", target=label),
                AccountCb(act=AccountAct.TOGGLE, id=account_id),
            ),
            _button(
                t.plain("acc.btn.disconnect"), AccountCb(act=AccountAct.DISCONNECT, id=account_id)
            ),
        ]
        for account_id, label, enabled in accounts
    ]
    rows.append([_button(t.plain("acc.btn.connect"), AccountCb(act=AccountAct.CONNECT))])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def platforms_keyboard(platforms: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    return _rows(*[[_button(title, PlatformCb(key=key))] for key, title in platforms])


# --- stats ---------------------------------------------------------------------------------------

#: The periods /stats offers, in days.
STATS_PERIODS = (7, 30)


def stats_keyboard(
    t: Texts, *, days: int, platform: str, platforms: list[tuple[str, str]]
) -> InlineKeyboardMarkup:
    """Period buttons, then one button per platform (key, title) and "All"; the current choice
    is marked."""

    def mark(label: str, current: bool) -> str:
        return f"• {label}" if current else label

    periods = [
        _button(mark(t.plain("btn.stats_days", days=d), d == days), StatsCb(days=d, pf=platform))
        for d in STATS_PERIODS
    ]
    choices = [("", t.plain("btn.stats_all")), *platforms]
    builder = InlineKeyboardBuilder()
    for key, title in choices:
        builder.add(_button(mark(title, key == platform), StatsCb(days=days, pf=key)))
    builder.adjust(3)
    return InlineKeyboardMarkup(inline_keyboard=[periods, *builder.export()])


def published_buttons(t: Texts, post_id: int) -> list[InlineKeyboardButton]:
    """A row with "📊 Stats" and "🗑 Delete…" for a published post."""
    return [
        _button(t.plain("btn.stats"), PostStatsCb(post=post_id)),
        _button(t.plain("btn.take_down"), TakeDownCb(act=TakeDownAct.ASK, post=post_id)),
    ]


def take_down_keyboard(t: Texts, post_id: int) -> InlineKeyboardMarkup:
    """The last step before a published post is deleted everywhere."""
    return _rows(
        [
            _button(t.plain("btn.take_down_yes"), TakeDownCb(act=TakeDownAct.YES, post=post_id)),
            _button(t.plain("btn.keep"), TakeDownCb(act=TakeDownAct.NO, post=post_id)),
        ]
    )


def mute_keyboard(
    t: Texts, kind: AlertKind, choices: tuple[int, ...], *, brand_id: int = 0
) -> InlineKeyboardMarkup:
    """🔕 buttons under an alert about ``brand_id`` (0: install-wide), one per mute length in
    days (each has a `btn.mute.<days>` label in the catalogue)."""
    return _rows(
        [
            _button(t.plain(f"btn.mute.{d}"), MuteCb(kind=kind, days=d, brand=brand_id))
            for d in choices
        ]
    )


def rules_keyboard(t: Texts, rules: list[tuple[int, str, bool]]) -> InlineKeyboardMarkup:
    """(id, name, enabled) per rule: enable/disable and delete; then test, import, export."""
    rows = [
        [
            _button(
                t.plain("rules.btn.disable" if enabled else "rules.btn.enable", name=name),
                RuleCb(act=RuleAct.TOGGLE, id=rule_id),
            ),
            _button(t.plain("btn.delete"), RuleCb(act=RuleAct.DELETE, id=rule_id)),
        ]
        for rule_id, name, enabled in rules
    ]
    rows.append(
        [
            _button(t.plain("rules.btn.test"), RuleCb(act=RuleAct.TEST)),
            _button(t.plain("rules.btn.import"), RuleCb(act=RuleAct.IMPORT)),
            _button(t.plain("rules.btn.export"), RuleCb(act=RuleAct.EXPORT)),
        ]
    )
    return InlineKeyboardMarkup(inline_keyboard=rows)


def sources_keyboard(t: Texts, sources: list[tuple[int, str]]) -> InlineKeyboardMarkup:
    """(id, name) per source: delete; then add a webhook."""
    rows = [
        [_button(t.plain("src.btn.delete", name=name), SourceCb(act=SourceAct.DELETE, id=sid))]
        for sid, name in sources
    ]
    rows.append([_button(t.plain("src.btn.webhook"), SourceCb(act=SourceAct.ADD_WEBHOOK))])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def confirm_keyboard(t: Texts, yes: CallbackData, back: CallbackData) -> InlineKeyboardMarkup:
    """Yes, delete / « Back: the last step before something is deleted."""
    return _rows([_button(t.plain("btn.delete_yes"), yes), _button(t.plain("btn.back"), back)])


def choice_keyboard(choices: list[tuple[str, CallbackData]]) -> InlineKeyboardMarkup:
    """One button per row."""
    return _rows(*[[_button(label, callback)] for label, callback in choices])


def plan_keyboard(t: Texts, campaign_id: int) -> InlineKeyboardMarkup:
    """The /plan card's answers."""
    return _rows(
        [_button(t.plain("plan.btn_approve"), PlanCb(act=PlanAct.APPROVE, campaign=campaign_id))],
        [
            _button(t.plain("plan.btn_review"), PlanCb(act=PlanAct.REVIEW, campaign=campaign_id)),
            _button(t.plain("plan.btn_discard"), PlanCb(act=PlanAct.DISCARD, campaign=campaign_id)),
        ],
    )


def with_planned_slot(
    t: Texts, markup: InlineKeyboardMarkup, post_id: int, when: str
) -> InlineKeyboardMarkup:
    """The schedule menu with the slot a /plan gave the draft offered first."""
    button = _button(
        t.plain("plan.btn_planned", when=when),
        ScheduleCb(post=post_id, pick=SchedulePick.PLANNED),
    )
    return _rows([button], *markup.inline_keyboard)


def brands_keyboard(t: Texts, brands: list[tuple[int, str, str]]) -> InlineKeyboardMarkup:
    """One button per brand to switch to: (id, name, the member's role there, in words)."""
    return _rows(
        *[
            [_button(t.plain("brand.btn", name=name, role=role), BrandCb(id=brand_id))]
            for brand_id, name, role in brands
        ]
    )


# --- team ----------------------------------------------------------------------------------------


def team_keyboard(t: Texts, brand_id: int, people: list[tuple[int, str]]) -> InlineKeyboardMarkup:
    """(user id, name) per member: change role, remove; then ➕ Invite."""
    rows = [
        [
            _button(
                t.plain("team.btn.role", name=name),
                TeamCb(act=TeamAct.ROLE_MENU, brand=brand_id, user=user_id),
            ),
            _button(
                t.plain("team.btn.remove"),
                TeamCb(act=TeamAct.REMOVE, brand=brand_id, user=user_id),
            ),
        ]
        for user_id, name in people
    ]
    rows.append([_button(t.plain("team.btn.invite"), TeamCb(act=TeamAct.INVITE, brand=brand_id))])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def _team_back(t: Texts, brand_id: int) -> InlineKeyboardButton:
    return _button(t.plain("btn.back"), TeamCb(act=TeamAct.LIST, brand=brand_id))


def role_keyboard(
    t: Texts, brand_id: int, act: TeamAct, user_id: int = 0, current: Role | None = None
) -> InlineKeyboardMarkup:
    """One button per role (but ``current``), for a member's new role or an invite's; ◀ Back."""
    rows = [
        [
            _button(
                t.plain(f"team.btn.as_{role}"),
                TeamCb(act=act, brand=brand_id, user=user_id, role=role),
            )
        ]
        for role in RANKED
        if role != current
    ]
    rows.append([_team_back(t, brand_id)])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def remove_member_keyboard(t: Texts, brand_id: int, user_id: int) -> InlineKeyboardMarkup:
    yes = TeamCb(act=TeamAct.REMOVE_YES, brand=brand_id, user=user_id)
    return _rows([_button(t.plain("team.btn.remove_yes"), yes), _team_back(t, brand_id)])


def log_keyboard(brand_id: int, page: int, pages: int) -> InlineKeyboardMarkup | None:
    """◀ newer, ▶ older; none for a single page."""
    row = []
    if page > 0:
        row.append(_button("◀", LogPageCb(brand=brand_id, page=page - 1)))
    if page + 1 < pages:
        row.append(_button("▶", LogPageCb(brand=brand_id, page=page + 1)))
    return _rows(row) if row else None
