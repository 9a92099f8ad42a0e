"""SQLAlchemy models: the durable state of Nexus.

A post is an idea with a main text; it has one publication per target account, each with its own
text variant and delivery state. Status columns are plain strings (see `PostStatus` and
`PublicationStatus`) so that the same schema runs on SQLite and PostgreSQL; every change of a
status goes through a conditional UPDATE in `storage.repositories`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite hands back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class PostStatus(StrEnum):
    """draft ─approve/schedule→ scheduled ─(every target done)→ published | partial | failed;
    draft ─reject→ rejected; scheduled ─cancel→ draft. Where the brand wants a reviewer's
    approval: draft ─submit→ review ─enough approvals→ scheduled; review ─changes requested→
    draft; review ─reject→ rejected."""

    DRAFT = "draft"
    REVIEW = "review"
    SCHEDULED = "scheduled"
    PUBLISHED = "published"
    PARTIAL = "partial"
    FAILED = "failed"
    REJECTED = "rejected"


class PublicationStatus(StrEnum):
    """pending ─claim→ publishing ─→ published | failed, or back to pending for a retry.
    held: fell due while Nexus was down, longer ago than the misfire grace; the owner decides.
    unknown: its claim died mid-send (a crash); the owner says whether it went out.
    dropped: the owner gave up on this target.
    cancelled: the owner cancelled the post while another target of it was being sent.
    deleted: published, then taken down again by the owner (``scheduler.removal``).
    Every transition is decided in ``scheduler.lifecycle``."""

    PENDING = "pending"
    PUBLISHING = "publishing"
    PUBLISHED = "published"
    FAILED = "failed"
    HELD = "held"
    UNKNOWN = "unknown"
    DROPPED = "dropped"
    CANCELLED = "cancelled"
    DELETED = "deleted"


#: Publication states that need nothing more from the dispatcher.
FINAL_PUBLICATION_STATES = frozenset(
    {
        PublicationStatus.PUBLISHED,
        PublicationStatus.FAILED,
        PublicationStatus.DROPPED,
        PublicationStatus.CANCELLED,
        PublicationStatus.DELETED,
    }
)


class Base(DeclarativeBase):
    pass


#: The brand every install starts with: NEXUS_CHANNEL's, owned by NEXUS_OWNER_IDS, and the one
#: an upgrade moves the data of a single-brand install into (migration 0012).
FIRST_BRAND_ID = 1


class Role(StrEnum):
    """What a member may do in a brand (``storage.roles`` says which role may do what)."""

    OWNER = "owner"
    EDITOR = "editor"
    REVIEWER = "reviewer"
    VIEWER = "viewer"


class ReviewFallback(StrEnum):
    """What happens to a draft that waited longer than the brand's review timeout."""

    REMIND = "remind"  # remind the reviewers (again each timeout)
    SKIP = "skip"  # leave it out: back to draft, the author is told
    PUBLISH = "publish"  # publish at its time anyway, said on the card


def _brand_fk() -> Any:
    """The brand a row belongs to. Existing rows were moved into the first brand (0012); a row
    created without one is the first brand's too (what start-up makes for NEXUS_CHANNEL, a
    single-brand install's everything). A chat update's session stamps its brand on what it
    creates (`storage.scope`), and jobs working for a brand pass it."""
    return mapped_column(ForeignKey("brands.id"), index=True, default=FIRST_BRAND_ID)


class Brand(Base):
    """A brand: its channel(s), accounts, voice, time zone, slots, digest, rules, sources, queue,
    stats and alerts, and the people who work on it (`Membership`)."""

    __tablename__ = "brands"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    #: IANA zone of the brand's slots, schedule and digest; None means NEXUS_TIMEZONE.
    timezone: Mapped[str | None] = mapped_column(String(64))
    #: Local "HH:MM" of the brand's daily digest; None means NEXUS_DIGEST_AT.
    digest_at: Mapped[str | None] = mapped_column(String(5))
    #: The Telegram group bound with `/review here`; None: approvals go to reviewers' chats.
    review_chat_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    #: How many different reviewers must approve a draft (1 to 3).
    approvals_required: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    #: How long a draft may wait for review before `review_fallback` applies.
    review_timeout_minutes: Mapped[int] = mapped_column(
        Integer, default=24 * 60, server_default=str(24 * 60)
    )
    review_fallback: Mapped[str] = mapped_column(
        String(16), default=ReviewFallback.REMIND, server_default=ReviewFallback.REMIND.value
    )
    #: Editors may publish and schedule without a reviewer's approval.
    editors_publish: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Membership(Base):
    """A person's role in a brand. No foreign key to ``users``: NEXUS_OWNER_IDS are owners of the
    first brand before they ever talk to the bot."""

    __tablename__ = "memberships"

    brand_id: Mapped[int] = mapped_column(
        ForeignKey("brands.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    role: Mapped[str] = mapped_column(String(16))
    #: Who added them (an invite's author); None for NEXUS_OWNER_IDS and a brand's creator.
    added_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Invite(Base):
    """A single-use invitation to a brand in a role (a `/start <code>` deep link). Only the
    code's SHA-256 is stored; the code itself is shown once, to the owner who made it."""

    __tablename__ = "invites"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    brand_id: Mapped[int] = mapped_column(ForeignKey("brands.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_by: Mapped[int | None] = mapped_column(BigInteger)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditEntry(Base):
    """One decision in a brand: who (None: Nexus itself, e.g. an automation rule), when, what
    (``action``, e.g. "post.approve"), on what (``subject``, e.g. "post:12") and details."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_brand_at", "brand_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    brand_id: Mapped[int] = mapped_column(ForeignKey("brands.id", ondelete="CASCADE"))
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    action: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[str] = mapped_column(Text, default="")


class ReviewVote(Base):
    """A reviewer's answer to one version of a draft under review: "approved", "changes"
    (requested, with ``reason``) or "rejected". One vote per reviewer and version: a double
    tap or a second reviewer's device cannot count twice; an edit starts a new version."""

    __tablename__ = "review_votes"
    __table_args__ = (
        UniqueConstraint("post_id", "version", "reviewer_id", name="uq_review_votes_reviewer"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    reviewer_id: Mapped[int] = mapped_column(BigInteger)
    decision: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReviewMessage(Base):
    """A review card of a draft: in the brand's review group, or in a reviewer's private chat;
    every card is updated with who approved and, at the end, the outcome."""

    __tablename__ = "review_messages"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    message_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)


#: Column ``info`` of every value encrypted with the vault (`storage.encrypted` finds them all:
#: `nexus rotate-key` re-encrypts them and `nexus check` verifies them).
ENCRYPTED: dict[str, Any] = {"encrypted": True}


class User(Base):
    """A Telegram user who has talked to the bot (owners only get this far)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    language: Mapped[str] = mapped_column(String(8), default="en")
    #: The name they show in Telegram (first and last name), as last seen; for /team and /log.
    name: Mapped[str | None] = mapped_column(String(64))
    timezone: Mapped[str | None] = mapped_column(String(64))
    #: Local "HH:MM" of the daily digest; None means NEXUS_DIGEST_AT.
    digest_at: Mapped[str | None] = mapped_column(String(5))
    digest_enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    #: The brand the user's commands act in (`/brand` switches); None: their first brand.
    current_brand_id: Mapped[int | None] = mapped_column(
        ForeignKey("brands.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BrandVoice(Base):
    """A brand's voice, set with /voice: one row per brand, whose id is the brand's id."""

    __tablename__ = "brand_voice"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    tone: Mapped[str] = mapped_column(Text, default="")
    audience: Mapped[str] = mapped_column(Text, default="")
    do: Mapped[str] = mapped_column(Text, default="")
    dont: Mapped[str] = mapped_column(Text, default="")
    example: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Account(Base):
    """A publishing target: a platform account with its encrypted credentials."""

    __tablename__ = "accounts"
    __table_args__ = (UniqueConstraint("platform", "handle", name="uq_accounts_platform_handle"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    brand_id: Mapped[int] = _brand_fk()
    platform: Mapped[str] = mapped_column(String(32))
    handle: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(String(255), default="")
    credentials: Mapped[str | None] = mapped_column(Text, info=ENCRYPTED)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    #: When the platform's token stops working (None: unknown or never); the owner is warned.
    token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The last health check: when, and the reason it failed (None when it passed).
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class CampaignStatus(StrEnum):
    PROPOSED = "proposed"  # the plan card is showing; nothing is drafted yet
    APPROVED = "approved"  # every post drafted and scheduled at once
    REVIEWING = "reviewing"  # every post drafted, each sent as a preview of its own
    DISCARDED = "discarded"


class Campaign(Base):
    """Posts planned together by /plan: the plan as proposed (JSON, ``ai.plans.Plan``) until
    the owner approves, reviews or discards it; /queue and /stats group its posts."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    brand_id: Mapped[int] = _brand_fk()
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default=CampaignStatus.PROPOSED)
    plan: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Post(Base):
    """One idea, from brief to published; `version` grows with every change of its text."""

    __tablename__ = "posts"
    __table_args__ = (
        Index("ix_posts_preview", "preview_chat_id", "preview_message_id"),
        # a brand's latest published posts, which every draft's prompt reads
        Index("ix_posts_brand_status_published", "brand_id", "status", "published_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    brand_id: Mapped[int] = _brand_fk()
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    brief: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=PostStatus.DRAFT, index=True)
    offline: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=1)
    preview_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    preview_message_id: Mapped[int | None] = mapped_column(BigInteger)
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    #: When the owner asked for it to go out right away (no "scheduled for" notice then).
    immediate: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    repeat_rule: Mapped[str | None] = mapped_column(Text)
    series_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id"), index=True)
    occurrence: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    evergreen: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    #: Where the post came from: None (the chat), "rule:<id>", "rss:<source id>".
    origin: Mapped[str | None] = mapped_column(String(64))
    #: The automation action that made it ("event:<id>:rule:<id>:action:<n>"); unique, so a
    #: re-run of the action after a crash finds this post instead of drafting a second one.
    origin_key: Mapped[str | None] = mapped_column(String(128), unique=True, index=True)

    #: The campaign a /plan made this post in, and the slot the plan gave it (offered first
    #: when the owner schedules a reviewed post).
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaigns.id", ondelete="SET NULL"), index=True
    )
    planned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    #: Review (`PostStatus.REVIEW`): who submitted the draft for approval, and when the brand's
    #: review fallback applies to it if it is still waiting.
    submitted_by: Mapped[int | None] = mapped_column(BigInteger)
    review_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)

    publications: Mapped[list[Publication]] = relationship(
        back_populates="post", order_by="Publication.id", lazy="selectin"
    )
    campaign: Mapped[Campaign | None] = relationship(lazy="selectin")
    media: Mapped[list[PostMedia]] = relationship(
        back_populates="post", order_by="PostMedia.position", lazy="selectin"
    )
    variants: Mapped[list[PostVariant]] = relationship(
        back_populates="post", order_by="PostVariant.account_id", lazy="selectin"
    )


class PostVariant(Base):
    """A draft's text for one target account, written for that platform; ``enabled=False``
    leaves the target out when the post is scheduled. A post without variants goes to every
    enabled account with its main text."""

    __tablename__ = "post_variants"
    __table_args__ = (UniqueConstraint("post_id", "account_id", name="uq_post_variants_target"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    #: The owner edited this variant by hand: a new main text no longer replaces it.
    edited: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    post: Mapped[Post] = relationship(back_populates="variants")
    account: Mapped[Account] = relationship(lazy="selectin")


class PostMedia(Base):
    """An image attached to a post, stored under the data dir (``path`` is relative to it)."""

    __tablename__ = "post_media"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    path: Mapped[str] = mapped_column(String(512))
    mime: Mapped[str] = mapped_column(String(64))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(Integer)
    #: Telegram's file_id, so the photo can be shown again in the chat without uploading it.
    telegram_file_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    post: Mapped[Post] = relationship(back_populates="media")


class Publication(Base):
    """A post on one target: its text variant and delivery record."""

    __tablename__ = "publications"
    __table_args__ = (UniqueConstraint("post_id", "account_id", name="uq_publications_target"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=PublicationStatus.PENDING, index=True)
    external_id: Mapped[str | None] = mapped_column(String(255))
    part_ids: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(String(512))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    #: When the dispatcher should (next) try this publication: the scheduled time, or a retry.
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    #: The claim's last heartbeat: a "publishing" row older than the lease is a crash relic.
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Which worker claimed it ("<name>#<incarnation>", see ``scheduler.dispatcher``).
    claimed_by: Mapped[str | None] = mapped_column(String(96))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The latest metrics (copied from the newest snapshot, so /stats reads one row per post).
    likes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    reposts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    replies: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    views: Mapped[int | None] = mapped_column(Integer)
    metrics_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: When the metrics job should look at this publication next (None: no more syncs).
    metrics_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    metrics_stage: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: What the platform charged for it (X's pay-per-use), recorded when it is recorded
    #: published: the month's platform spend in /stats. None where posting is free.
    cost_usd: Mapped[float | None] = mapped_column(Float)

    post: Mapped[Post] = relationship(back_populates="publications")
    account: Mapped[Account] = relationship(lazy="selectin")


class Slot(Base):
    """A weekly posting time of one target, in the owner's local time (for "Add to queue")."""

    __tablename__ = "slots"
    __table_args__ = (UniqueConstraint("account_id", "weekday", "minute", name="uq_slots_time"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    weekday: Mapped[int] = mapped_column(Integer)  # 0 = Monday
    minute: Mapped[int] = mapped_column(Integer)  # minutes after local midnight


class PeriodLock(Base):
    """Claims a once-per-period job run (e.g. "digest:2026-11-22"): the unique key is the guard
    that lets several workers and restarts agree on who runs it. Also holds short leases
    (``repositories.take_lease``, e.g. "refresh:3" while an account's token is renewed), whose
    row is deleted when released and overtaken once ``created_at`` is older than the lease. A
    lease may name its holder (``<worker name>#<incarnation>``, as publication claims do), so a
    restarted process can release at once what its killed incarnation held."""

    __tablename__ = "period_locks"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    holder: Mapped[str | None] = mapped_column(String(96))


class MetricSnapshot(Base):
    """A publication's counters at one moment."""

    __tablename__ = "metric_snapshots"
    __table_args__ = (Index("ix_metric_snapshots_pub_taken", "publication_id", "taken_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    publication_id: Mapped[int] = mapped_column(ForeignKey("publications.id", ondelete="CASCADE"))
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    likes: Mapped[int] = mapped_column(Integer, default=0)
    reposts: Mapped[int] = mapped_column(Integer, default=0)
    replies: Mapped[int] = mapped_column(Integer, default=0)
    views: Mapped[int | None] = mapped_column(Integer)


class AccountSnapshot(Base):
    """An account's audience size at one moment (a channel's member count, followers)."""

    __tablename__ = "account_snapshots"
    __table_args__ = (Index("ix_account_snapshots_acc_taken", "account_id", "taken_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime)
    followers: Mapped[int] = mapped_column(Integer)


class AiUsage(Base):
    """One AI call: tokens used and the estimated cost, for /stats and the monthly budget."""

    __tablename__ = "ai_usage"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The brand the call drafted for (None: install-wide work, e.g. a connection check).
    brand_id: Mapped[int | None] = mapped_column(ForeignKey("brands.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    model: Mapped[str] = mapped_column(String(64))
    purpose: Mapped[str] = mapped_column(String(32))
    input_tokens: Mapped[int] = mapped_column(Integer)
    output_tokens: Mapped[int] = mapped_column(Integer)
    cost_usd: Mapped[float] = mapped_column(Float)


class AlertState(Base):
    """Cooldown and mute of one alert kind (``key`` like "failed", "auth:3", "queue")."""

    __tablename__ = "alert_states"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    last_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    muted_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Source(Base):
    """Where events come from: a signed webhook (plain or GitHub) or an RSS/Atom feed."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    brand_id: Mapped[int] = _brand_fk()
    #: "webhook", "github" or "feed".
    kind: Mapped[str] = mapped_column(String(16))
    #: The URL path segment of a webhook (/webhooks/{name}); a short label for a feed.
    name: Mapped[str] = mapped_column(String(64), unique=True)
    #: Encrypted HMAC secret of a webhook source.
    secret: Mapped[str | None] = mapped_column(Text, info=ENCRYPTED)
    url: Mapped[str | None] = mapped_column(String(2048))
    #: Feeds: "draft" (an AI summary for approval) or "rules" (an rss.item event for the rules).
    mode: Mapped[str] = mapped_column(String(16), default="draft", server_default="draft")
    etag: Mapped[str | None] = mapped_column(String(512))
    last_modified: Mapped[str | None] = mapped_column(String(128))
    polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Event(Base):
    """An inbound event, stored before it is acknowledged; (source, external id) is unique, which
    rejects replays and deduplicates feed entries across restarts."""

    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("source_id", "external_id", name="uq_events_source_ext"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(128))
    payload: Mapped[str] = mapped_column(Text)
    #: "new" → "processing" → "done" | "failed" (see `automation.engine`)
    status: Mapped[str] = mapped_column(String(16), default="new", index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The claim holding a "processing" event (worker id and batch) and until when it holds.
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: How many times the event was claimed: a crash relic runs again, a poison event does not.
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Rule(Base):
    """An automation rule: event-type glob + conditions + actions (JSON documents)."""

    __tablename__ = "rules"
    #: A name is the brand's own: two brands may each have a "release" rule.
    __table_args__ = (UniqueConstraint("brand_id", "name", name="uq_rules_brand_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    brand_id: Mapped[int] = _brand_fk()
    name: Mapped[str] = mapped_column(String(128))
    event: Mapped[str] = mapped_column(String(128))
    conditions: Mapped[str] = mapped_column(Text, default="[]")
    actions: Mapped[str] = mapped_column(Text, default="[]")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RuleRun(Base):
    """One execution of a rule on an event: the log the owner can read."""

    __tablename__ = "rule_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("rules.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ok: Mapped[bool] = mapped_column(Boolean)
    detail: Mapped[str] = mapped_column(Text, default="")


class FsmState(Base):
    """Where a chat conversation stands (aiogram's FSM state and data), kept across restarts.

    One row per aiogram storage key; absent parts of the key are stored as 0 / "" so the
    primary key stays unique on every backend (NULLs never collide). Secrets are never put here
    (`handlers.accounts` keeps them in process memory only).
    """

    __tablename__ = "fsm_states"

    bot_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    thread_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    business_connection_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    destiny: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[str | None] = mapped_column(String(255))
    #: The conversation's data as a JSON object.
    data: Mapped[str] = mapped_column(Text, default="{}")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class DraftJobStatus(StrEnum):
    RUNNING = "running"
    INTERRUPTED = "interrupted"


class DraftJob(Base):
    """An AI drafting job in flight, written before the AI is asked and deleted in the same
    transaction that stores its result: a row found at start-up is a draft that was interrupted
    (a shutdown marked it, or a crash left it "running"), and the owner is told."""

    __tablename__ = "draft_jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    brand_id: Mapped[int] = _brand_fk()
    #: "new" (a brief) or "regen" (rewriting draft `post_id`, or only its target `account_id`).
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=DraftJobStatus.RUNNING)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    author_id: Mapped[int] = mapped_column(BigInteger)
    language: Mapped[str] = mapped_column(String(8), default="en")
    brief: Mapped[str] = mapped_column(Text)
    post_id: Mapped[int | None] = mapped_column(Integer)
    account_id: Mapped[int] = mapped_column(Integer, default=0)
    #: The regeneration preset (`ui.keyboards.REGEN_PRESETS` index, or REGEN_REPLIED).
    preset: Mapped[int | None] = mapped_column(Integer)
    #: The owner's message a Retry replies to (the brief, or the instruction in own words).
    source_message_id: Mapped[int | None] = mapped_column(BigInteger)
    #: The "✍️ Drafting…" message, replaced by the result.
    progress_message_id: Mapped[int | None] = mapped_column(BigInteger)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DecisionKind(StrEnum):
    """How the owner answered a draft: each answer is a lesson for ``ai.learning``."""

    APPROVED = "approved"
    EDITED = "edited"
    REGENERATED = "regenerated"
    REJECTED = "rejected"


class DraftDecision(Base):
    """One decision of the owner on a draft, written in the transaction of the change itself.

    ``before``/``after``: the main text around an edit or a regeneration; for an approval,
    ``before`` is the text the drafter last wrote and ``after`` the text approved (equal when the
    draft went out as written). ``ai_drafted`` says whether that drafter was Claude (not the
    offline one). ``learned_at`` is set once a distillation has read the decision."""

    __tablename__ = "draft_decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)
    instruction: Mapped[str | None] = mapped_column(Text)
    #: A rejection's optional reason (``ui.learning.REJECT_REASONS``), tapped after Reject.
    reason: Mapped[str | None] = mapped_column(String(16))
    ai_drafted: Mapped[bool] = mapped_column(Boolean, default=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    learned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LearnedPreference(Base):
    """A short rule distilled from the decisions ("no more than two emoji"). Active while both
    ``dropped_at`` (the owner's 🗑) and ``replaced_at`` (a newer distillation) are empty; a
    dropped rule is shown to the next distillation as one not to propose again."""

    __tablename__ = "learned_preferences"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    brand_id: Mapped[int] = _brand_fk()
    text: Mapped[str] = mapped_column(Text)
    #: Who distilled it: the model name, or "offline".
    source: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    dropped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    replaced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
