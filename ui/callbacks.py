"""Every inline-button payload of the bot, in one place.

Short prefixes and integer ids keep each packed value far below Telegram's 64-byte limit; a test
packs the largest value of each and checks it.

Every integer is bounded: a database id (`DbId`) by the 32-bit INTEGER column it names, anything
else (`Int32`) by 32 bits too. A forged or corrupted payload outside the bounds fails to unpack,
so no filter matches it and the catch-all answers the tap, instead of the database raising
"value out of int32 range" inside a handler.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from aiogram.filters.callback_data import CallbackData
from pydantic import Field

from scheduler.notify import AlertKind
from storage.models import Role

#: The largest value of a 32-bit INTEGER column (PostgreSQL's `integer`, our primary keys).
INT32_MAX = 2**31 - 1

#: A row id of ours (0 where a field means "none").
DbId = Annotated[int, Field(ge=0, le=INT32_MAX)]
#: Any other number on a button: a version, a page, a preset, a number of days.
Int32 = Annotated[int, Field(ge=-INT32_MAX - 1, le=INT32_MAX)]


class DraftAct(StrEnum):
    APPROVE = "a"
    SCHEDULE = "s"
    EDIT = "e"
    REGENERATE = "g"
    REJECT = "x"
    RESTORE = "u"
    BACK = "b"
    VARIANTS = "v"
    IMAGES = "i"


class DraftCb(CallbackData, prefix="d"):
    """A button on a draft preview; `v` is the version the preview shows."""

    act: DraftAct
    post: DbId
    v: Int32


class VariantAct(StrEnum):
    SHOW = "s"
    EDIT = "e"
    TOGGLE = "t"
    REGENERATE = "g"


class VariantCb(CallbackData, prefix="vr"):
    """A button of the variants view: show, edit or switch one target (an account id) of a
    draft at version `v`."""

    act: VariantAct
    post: DbId
    v: Int32
    acc: DbId


class RegenCb(CallbackData, prefix="g"):
    """A regeneration choice: a preset instruction (index into REGEN_PRESETS), -1 = own words;
    `acc` names the one target (an account id) to rewrite, 0 the whole draft. It rewrites the
    draft as it is when tapped, so it carries no version."""

    post: DbId
    preset: Int32
    acc: DbId = 0


class ImageAct(StrEnum):
    SHOW = "s"
    REMOVE = "r"
    CLEAR = "c"


class ImageCb(CallbackData, prefix="im"):
    """A button of a draft's images view: send them to the chat, remove image `media` (a
    post_media id), or remove them all; `v` is the draft version the view shows."""

    act: ImageAct
    post: DbId
    v: Int32
    media: DbId = 0


class RetryDraftCb(CallbackData, prefix="rd"):
    """Retry drafting after an AI failure; the brief is the message the error replies to."""


class LinkAloneCb(CallbackData, prefix="la"):
    """Draft from a link whose page could not be read, from the link alone; the link is in the
    message the explanation replies to."""


class OpenDraftCb(CallbackData, prefix="o"):
    post: DbId


class DraftsPageCb(CallbackData, prefix="dp"):
    page: Int32


class VoiceField(StrEnum):
    TONE = "tone"
    AUDIENCE = "audience"
    DO = "do"
    DONT = "dont"
    EXAMPLE = "example"


class VoiceCb(CallbackData, prefix="v"):
    """Set one brand-voice field, or clear all of them (`field` empty)."""

    field: VoiceField | None = None


class VoiceWholeCb(CallbackData, prefix="vw"):
    """📄 Show whole under /voice: every field the view clipped, sent whole."""


class SchedulePick(StrEnum):
    IN_1H = "h"
    EVENING = "e"
    TOMORROW = "t"
    SLOT = "s"
    OTHER = "o"
    PLANNED = "p"  # the slot a /plan gave the draft


class ScheduleCb(CallbackData, prefix="s"):
    """A time pick for a draft (schedule) or a scheduled post (reschedule)."""

    post: DbId
    pick: SchedulePick


class PostAct(StrEnum):
    SCHEDULE_MENU = "m"
    PUBLISH_NOW = "n"
    CANCEL = "c"
    RETRY = "r"
    EDIT = "e"
    DROP = "d"
    DROP_OVERDUE = "o"
    OPEN = "p"
    REPEAT = "t"
    EVERGREEN = "g"


class PostCb(CallbackData, prefix="p"):
    """An action on a post that is past the draft stage (scheduled, failed, overdue)."""

    act: PostAct
    post: DbId


class PubAct(StrEnum):
    POSTED = "y"
    SEND_AGAIN = "a"
    DROP = "d"


class PubCb(CallbackData, prefix="u"):
    """The owner's answer about one interrupted publication."""

    act: PubAct
    pub: DbId


class QueuePageCb(CallbackData, prefix="q"):
    page: Int32


class TimezoneCb(CallbackData, prefix="tz"):
    name: str


class AccountAct(StrEnum):
    CONNECT = "c"
    TOGGLE = "t"
    DISCONNECT = "d"


class AccountCb(CallbackData, prefix="a"):
    """Connect a new account, or enable/disable/disconnect account `id`."""

    act: AccountAct
    id: DbId = 0


class PlatformCb(CallbackData, prefix="pf"):
    key: str


# --- stats ---------------------------------------------------------------------------------------


class StatsCb(CallbackData, prefix="st"):
    """/stats for the last `days` days on platform `pf` (a registry key; empty = all)."""

    days: Int32
    pf: str = ""


class TakeDownAct(StrEnum):
    ASK = "a"
    YES = "y"
    NO = "n"


class TakeDownCb(CallbackData, prefix="td"):
    """🗑 under a published post: ask, then delete it from every platform (or keep it)."""

    act: TakeDownAct
    post: DbId


class PostStatsCb(CallbackData, prefix="ps"):
    """The counters of one published post, per target."""

    post: DbId


class MuteCb(CallbackData, prefix="mu"):
    """🔕 under an alert: silence alerts of `kind` about `brand` (0: install-wide) for `days`."""

    kind: AlertKind
    days: Int32
    brand: DbId = 0


class RuleAct(StrEnum):
    LIST = "l"
    TOGGLE = "t"
    DELETE = "d"
    DELETE_YES = "y"
    TEST = "s"
    IMPORT = "i"
    EXPORT = "e"


class RuleCb(CallbackData, prefix="r"):
    """/rules: an action on rule `id` (0 for the list-wide ones: test, import, export)."""

    act: RuleAct
    id: DbId = 0


class SourceAct(StrEnum):
    LIST = "l"
    ADD_WEBHOOK = "w"
    PLAIN = "p"
    GITHUB = "g"
    FEED_DRAFT = "fd"
    FEED_RULES = "fr"
    DELETE = "d"
    DELETE_YES = "y"


class SourceCb(CallbackData, prefix="src"):
    """/sources: an action on source `id` (0 when adding one)."""

    act: SourceAct
    id: DbId = 0


class DraftJobCb(CallbackData, prefix="dj"):
    """✖️ Cancel under "✍️ Drafting…": stop drafting job `job` (a draft_jobs id)."""

    job: DbId


class RejectReason(StrEnum):
    """Why the owner rejected a draft (one optional tap after Reject)."""

    TOO_LONG = "l"
    OFF_BRAND = "b"
    WRONG_FACTS = "f"
    TONE = "t"
    NOT_NOW = "n"


class RejectReasonCb(CallbackData, prefix="rj"):
    post: DbId
    reason: RejectReason


class LearnAct(StrEnum):
    NOW = "n"
    DROP = "d"


class LearnCb(CallbackData, prefix="ln"):
    """/voice's learning buttons: distil now, or drop learned preference `pref`."""

    act: LearnAct
    pref: DbId = 0


class PlanAct(StrEnum):
    APPROVE = "a"
    REVIEW = "r"
    DISCARD = "d"


class PlanCb(CallbackData, prefix="pl"):
    """An answer to a /plan card: approve every post, review them one by one, or discard;
    `campaign` is the proposed campaign's id."""

    act: PlanAct
    campaign: DbId


class BrandCb(CallbackData, prefix="br"):
    """/brand's list: work in brand `id` (refused unless the tapper is a member of it)."""

    id: DbId


# --- team ----------------------------------------------------------------------------------------

#: The largest value of a 64-bit BIGINT column (where Telegram user ids are stored).
INT64_MAX = 2**63 - 1
#: A Telegram user id: wider than 32 bits (ids past 2**31 exist), bounded by its BIGINT column.
TgId = Annotated[int, Field(ge=0, le=INT64_MAX)]


class TeamAct(StrEnum):
    LIST = "l"
    ROLE_MENU = "m"
    SET_ROLE = "r"
    REMOVE = "x"
    REMOVE_YES = "y"
    INVITE = "i"
    INVITE_ROLE = "n"


class TeamCb(CallbackData, prefix="tm"):
    """/team of brand `brand`: an action on member `user` (0 for the list-wide ones), with the
    `role` chosen (empty when the action takes none). The brand travels with the tap, so a
    /team message of one brand never acts in the brand its owner switched to since."""

    act: TeamAct
    brand: DbId
    user: TgId = 0
    role: Role | None = None


class LogPageCb(CallbackData, prefix="lg"):
    """/log of brand `brand`, page `page` (0 = the newest entries)."""

    brand: DbId
    page: Int32


class ReviewAct(StrEnum):
    APPROVE = "a"
    CHANGES = "c"
    REJECT = "x"
    EDIT = "e"


class ReviewCb(CallbackData, prefix="rv"):
    """A button on a review card: answer (or edit) version `v` of draft `post`."""

    act: ReviewAct
    post: DbId
    v: Int32


class ReviewSet(StrEnum):
    APPROVALS = "n"
    TIMEOUT = "t"
    FALLBACK = "f"
    EDITORS = "e"
    UNBIND = "u"


class ReviewSetCb(CallbackData, prefix="rs"):
    """A review setting of brand `brand` (/review): `value` is the number of approvals, the
    timeout in hours, or the index of the fallback in `ReviewFallback`."""

    set: ReviewSet
    brand: DbId
    value: Int32 = 0
