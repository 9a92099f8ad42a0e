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
    "cmd.queue": "Scheduled posts",
    "cmd.timezone": "Your time zone",
    "cmd.slots": "Weekly posting slots",
    "cmd.accounts": "Where posts go: connected accounts",
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
        "Under a preview, <b>🗓 Schedule</b> picks a time (or type one: <i>tomorrow 9:00</i>, "
        "<i>in 2h</i>, <i>25.12 10:00</i>); a scheduled post can repeat or be evergreen.\n\n"
        "/drafts — drafts waiting for you\n"
        "/queue — scheduled posts: publish now, reschedule, cancel\n"
        "/slots — weekly posting times for “next free slot”\n"
        "/stats — posts, engagement, the best time to post\n"
        "/digest — the daily digest now; /digest off, /digest at 08:30\n"
        "/timezone — your time zone\n"
        "/voice — tone, audience, do's and don'ts, an example post\n"
        "/rules — automation: events become drafts, posts or messages\n"
        "/sources — webhooks and RSS/Atom feeds that bring events\n"
        "/cancel — stop what you are doing"
    ),
    "refused": (
        "Sorry, this is a private Nexus bot. If it is yours, add your user id {user_id} "
        "to NEXUS_OWNER_IDS and restart it."
    ),
    "new.usage": "Tell me what to post about, e.g. <code>/new announce v2.3 with dark mode</code>",
    "new.not_text": "I draft from text: send me a brief as a message.",
    "new.empty": (
        "The brief is empty: it has only invisible characters. Tell me what to post about, "
        "e.g. <code>/new announce v2.3 with dark mode</code>"
    ),
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
    "preview.images": "🖼 {count} image(s) attached",
    "preview.target_ok": "✓ {name} {count}/{limit}",
    "preview.target_thread": "✓ {name} {count}/{limit}: goes out as {parts} posts",
    "preview.target_bad": "✗ {name} {count}/{limit}: {reason}",
    "preview.target_off": "⏸ {name}: off for this post",
    "preview.own_text": " · ✏️ own text",
    "variant.title": "🎯 <b>Draft #{post_id}</b> · {name} ({index}/{total})",
    "variant.ask": (
        "✏️ Send the new text for {name} (draft #{post_id}). Only this target changes; "
        "/cancel keeps it as it is.\n\nNow:\n{text}"
    ),
    "variant.gone": "That target is no longer part of draft #{post_id}.",
    "media.no_draft": (
        "🖼 Send the photo with your idea as its caption, or send the idea first and then the "
        "photo: it is attached to your latest draft."
    ),
    "media.too_many": "🖼 Draft #{post_id} already has {count} images; 10 is the most a post takes.",
    "media.bad": "🖼 I could not use that file: {reason}. Send it as a photo (JPEG or PNG).",
    "media.too_big": "🖼 That photo is too large for Telegram to hand to bots (20 MB at most).",
    "images.title": "🖼 <b>Draft #{post_id}</b>: {count} image(s), in the order they go out",
    "images.line": "{number}. {width}×{height} {kind}, {size} KB",
    "images.hint": (
        "🗑 <i>N</i> takes that image off this draft; the others keep their order. Send "
        "another photo to add one (up to 10)."
    ),
    "images.none": "🖼 <b>Draft #{post_id}</b> has no images now. Send a photo to attach one.",
    "images.removed": "Image {number} is off draft #{post_id}.",
    "images.below": "🖼 Draft #{post_id}: its images and buttons are below.",
    "images.cleared": "Every image is off draft #{post_id}.",
    "images.missing": (
        "🖼 An image of draft #{post_id} is missing from the data dir ({path}); remove it here "
        "and send the photo again."
    ),
    "btn.approve": "✅ Approve & publish",
    "btn.edit": "✏️ Edit",
    "btn.regenerate": "🔄 Regenerate",
    "btn.reject": "🗑 Reject",
    "btn.variants": "🎯 Targets & variants",
    "btn.prev_target": "◀",
    "btn.next_target": "▶",
    "btn.edit_variant": "✏️ Edit this one",
    "btn.regenerate_variant": "🔄 Rewrite this one",
    "btn.images": "🖼 Images ({count})",
    "btn.image_remove": "🗑 {number}",
    "btn.images_show": "👁 Show them",
    "btn.images_clear": "🗑 Remove all",
    "btn.target_off": "⏸ Leave out",
    "btn.target_on": "▶️ Include",
    "btn.restore": "↩️ Restore",
    "btn.back": "« Back",
    "btn.retry": "🔁 Retry",
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
    "regen.choose_variant": (
        "How should I rewrite the {name} text of draft #{post_id}? The other targets stay as "
        "they are."
    ),
    "regen.ask_variant": (
        "Tell me how to change the {name} text of draft #{post_id}, e.g. <i>shorter, no "
        "hashtags</i>. /cancel keeps it as it is."
    ),
    "regenerating_variant": "🔄 Rewriting the {name} text of draft #{post_id}…",
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
    "btn.schedule": "🗓 Schedule",
    "btn.publish_now": "▶️ Publish now",
    "btn.reschedule": "🕓 Reschedule",
    "btn.cancel_schedule": "✖️ Cancel",
    "btn.edit_failed": "✏️ Edit",
    "btn.drop": "🗑 Drop",
    "btn.drop_overdue": "🗑 Drop (back to drafts)",
    "btn.posted": "✅ Yes, it is there",
    "btn.send_again": "🔁 Send again",
    "sched.choose": "When should post #{post_id} go out? Times are in {tz}.",
    "sched.in_1h": "In 1 hour",
    "sched.evening": "This evening 18:00",
    "sched.evening_tomorrow": "Tomorrow 18:00",
    "sched.tomorrow": "Tomorrow 09:00",
    "sched.slot": "Next free slot",
    "sched.other": "Other time…",
    "sched.ask": (
        "Send the time for post #{post_id}, e.g. <code>18:30</code>, <code>tomorrow 9:00</code>, "
        "<code>in 2h</code>, <code>25.12 10:00</code>, <code>friday 10:00</code>. "
        "Your time zone is {tz} (/timezone). /cancel to stop."
    ),
    "sched.err.unreadable": (
        "I can't read “{text}” as a time. Try e.g. <code>18:30</code>, "
        "<code>tomorrow 9:00</code>, <code>in 2h</code> or <code>25.12 10:00</code>."
    ),
    "sched.err.past": "{when} has already passed. Send a time that is still ahead.",
    "sched.err.too_far": "That is more than two years ahead. Send a nearer time.",
    "sched.done": "🗓 <b>Post #{post_id} is scheduled</b> for {when} → {targets}",
    "sched.cancelled": "Post #{post_id} is back in your drafts.",
    "sched.not_scheduled": "Post #{post_id} is not scheduled any more ({status}).",
    "sched.now": "▶️ Post #{post_id} goes out now.",
    "queue.empty": (
        "Nothing is scheduled. Send me an idea, then tap 🗓 Schedule under its preview."
    ),
    "queue.list": "🗓 <b>Upcoming posts</b> ({count}), times in {tz}. Tap one to manage it.",
    "queue.item": "{when} · #{post_id} {snippet}",
    "alert.overdue": (
        "⏰ <b>Post #{post_id}</b> was due {when}, but Nexus was not running then. "
        "Should it go out now?"
    ),
    "alert.unsure": (
        "❓ <b>Post #{post_id}</b>: sending to {target} was cut off before it was confirmed "
        "(no answer in time, or Nexus stopped), so I can't tell whether it went out. Is it there?"
    ),
    "unsure.posted": "Noted: post #{post_id} is on {target}.",
    "unsure.again": "Sending post #{post_id} to {target} again.",
    "unsure.done": "That question has already been answered.",
    "unsure.dropped": "Dropped post #{post_id} on {target}: nothing more is tried there.",
    "unsure.preview": (
        "❓ <b>Post #{post_id}</b>: I can't tell whether it went out to {target}. "
        "Please answer the question below."
    ),
    "post.sending": "📤 Post #{post_id} is being sent to {targets} right now.",
    "post.asking": "❓ Post #{post_id} is waiting for your answer about {targets}: did it go out?",
    "post.nothing_waiting": "Nothing of post #{post_id} is waiting for its time any more.",
    "sched.cancelled_part": "✖️ Cancelled post #{post_id} on {targets}.",
    "queue.item_sending": "📤 sending now · #{post_id} {snippet}",
    "queue.item_asking": "❓ your answer · #{post_id} {snippet}",
    "btn.posted_on": "✅ It is on {target}",
    "btn.drop_unsure": "🗑 Drop",
    "failed.dropped": "Dropped the failed targets of post #{post_id}.",
    "failed.nothing": "Post #{post_id} has nothing left to retry.",
    "failed.cannot_edit": (
        "Post #{post_id} is already out on some targets, so it can't go back to drafts; "
        "tap Retry or Drop."
    ),
    "post.gone": "That post no longer exists.",
    "tz.current": (
        "Your time zone is {tz} (local time {now}). To change it send "
        "<code>/timezone</code> with a city or a name, e.g. <code>/timezone Berlin</code>."
    ),
    "tz.set": "✅ Time zone set to {tz}. Local time there: {now}.",
    "tz.choose": "Which time zone did you mean?",
    "tz.unknown": (
        "I don't know a time zone called “{query}”. Try a large city nearby or a name "
        "such as Europe/Berlin."
    ),
    "btn.repeat": "🔁 Repeat…",
    "btn.evergreen_off": "♻️ Evergreen: off",
    "btn.evergreen_on": "♻️ Evergreen: on",
    "repeat.line": "🔁 Repeats {rule}",
    "evergreen.line": "♻️ Evergreen: goes back into free slots now and then",
    "repeat.ask": (
        "How often should post #{post_id} repeat? E.g. <code>daily</code>, "
        "<code>every monday</code>, <code>weekdays</code>, <code>every 2 days</code>, "
        "<code>0 9 * * 1-5</code>; add <code>until 31.12</code> or <code>x5</code> to end it. "
        "<code>never</code> stops repeating, /cancel keeps it as it is."
    ),
    "repeat.err": (
        "I can't read “{text}” as a repeat rule. Try <code>daily</code>, "
        "<code>every monday until 31.12</code> or <code>weekdays x10</code>."
    ),
    "repeat.set": "🔁 Post #{post_id} repeats {rule}. First: {when}.",
    "repeat.cleared": "Post #{post_id} no longer repeats.",
    "evergreen.set": "♻️ Post #{post_id} is evergreen: it will be reused in free slots.",
    "evergreen.unset": "Post #{post_id} is no longer evergreen.",
    "slots.show": "🗓 <b>Posting slots</b> (times in {tz})\n{lines}\n\n{help}",
    "slots.line": "{target}: {slots}",
    "slots.none": "none yet (every day 09:00 and 18:00 are used)",
    "slots.help": (
        "“Next free slot” takes the first of these that is still free. To set them send e.g. "
        "<code>/slots mon-fri 09:00 18:00; sat 11:00</code> (all channels) or "
        "<code>/slots @channel weekdays 10:00</code>; <code>/slots clear</code> removes them."
    ),
    "slots.saved": "✅ Slots saved.",
    "slots.cleared": "Slots removed: every day 09:00 and 18:00 are used.",
    "slots.err": (
        "I can't read “{text}” as slots. Try <code>mon-fri 09:00 18:00</code> or "
        "<code>weekends 11:00</code>."
    ),
    "slots.unknown_target": "There is no connected channel {target}. Connected: {targets}.",
    "acc.list": "🔌 <b>Accounts</b>: every approved post goes to each enabled one.\n{lines}",
    "acc.none": "No accounts yet. Connect one below (NEXUS_CHANNEL also adds your channel).",
    "acc.line_on": "✅ {target}",
    "acc.line_error": "⚠️ {target}",
    "acc.line_off": "⏸ {target} (disabled)",
    "acc.btn.enable": "▶️ Enable {target}",
    "acc.btn.disable": "⏸ Disable {target}",
    "acc.btn.disconnect": "🔌 Disconnect",
    "acc.btn.connect": "➕ Connect an account",
    "acc.pick": "Which platform?",
    "acc.ask": "{platform}, step {step} of {steps}: send {what}.",
    "acc.ask.secret": " I'll delete your message as soon as I've read it.",
    "acc.ask.optional": " Send <code>-</code> to use the default.",
    "acc.field.channel": "the channel's @username or -100… id (add me as its admin first)",
    "acc.field.instance": "your instance's address, e.g. https://mastodon.social",
    "acc.field.access_token": (
        "an access token (Preferences → Development → New application, with the "
        "write:statuses, write:media and read:accounts scopes)"
    ),
    "acc.field.handle": "your handle, e.g. nexus.bsky.social",
    "acc.field.app_password": "an app password (Settings → Privacy and security → App passwords)",
    "acc.field.service": "your PDS address if you host one, e.g. https://pds.example.com",
    "acc.field.api_key": (
        "the app's API key (developer.x.com → your app → Keys and tokens; the app needs "
        "Read and write permission)"
    ),
    "acc.field.api_secret": "the app's API key secret",
    "acc.field.x.access_token": (
        "your access token (Keys and tokens → Access token and secret → Generate)"
    ),
    "acc.field.access_token_secret": "the access token secret",
    "acc.field.webhook_url": (
        "the webhook URL (channel settings → Integrations → Webhooks → Copy webhook URL)"
    ),
    "acc.field.group_id": "the community's numeric id (vk.com/club123456 → 123456)",
    "acc.field.vk.access_token": (
        "a community access token with the wall and photos rights (community → Manage → "
        "API usage → Create token)"
    ),
    "acc.field.author_urn": (
        "who posts: urn:li:organization:123 for a page, or urn:li:person:… for you"
    ),
    "acc.field.linkedin.access_token": (
        "an access token with w_member_social or w_organization_social"
    ),
    "acc.field.user_id": "your Threads user id (numbers only)",
    "acc.field.client_id": "your X app's OAuth 2.0 client id (developer portal → Keys and tokens)",
    "acc.field.client_secret": "the OAuth 2.0 client secret (only for confidential clients)",
    "acc.field.x_oauth2.access_token": "the user's OAuth 2.0 access token",
    "acc.field.refresh_token": (
        "the OAuth 2.0 refresh token (ask for the offline.access scope); Nexus renews the "
        "access with it and keeps the new pair"
    ),
    "acc.health.error": "   ⚠️ {reason}",
    "acc.health.expires": "   ⏳ token expires {date}: reconnect before then",
    "acc.health.expired": "   ⛔ token expired on {date}: reconnect the account",
    "acc.field.threads.access_token": (
        "a Threads access token with threads_basic and threads_content_publish"
    ),
    "acc.field.instagram.user_id": (
        "your Instagram professional account id (numbers only; Graph API Explorer → "
        "me/accounts?fields=instagram_business_account)"
    ),
    "acc.field.instagram.access_token": (
        "a long-lived access token with instagram_basic and instagram_content_publish"
    ),
    "acc.bad_number": "That should be a number. Send it again, or /cancel.",
    "acc.bad_url": "That is not an address starting with https://. Send it again, or /cancel.",
    "acc.not_deleted": "⚠️ I could not delete your message with the secret: delete it yourself.",
    "acc.checking": "🔎 Checking the credentials with {platform}…",
    "acc.failed": (
        "❌ {platform} did not accept them: {reason}. Nothing was saved; /accounts to retry."
    ),
    "acc.connected": "✅ Connected {target}. Approved posts go there too.",
    "acc.disconnected": "Disconnected {target}: its credentials are deleted.",
    "acc.enabled": "{target} is enabled.",
    "acc.disabled": "{target} is disabled: posts skip it until you enable it.",
    "cancel.done": "Cancelled. Nothing was changed.",
    "cancel.nothing": "There is nothing to cancel.",
    "key.created": (
        "🔑 I created a secret key at <code>{path}</code>. It encrypts the credentials I store: "
        "back it up now, because without it they cannot be read."
    ),
    "status.draft": "a draft",
    "status.scheduled": "scheduled",
    "status.publishing": "being published",
    "status.published": "published",
    "status.partial": "published in part",
    "status.failed": "failed",
    "status.rejected": "rejected",
    # --- stats (metrics) ---
    "cmd.stats": "Numbers: posts, engagement, best time",
    "btn.stats": "📊 Stats",
    "btn.take_down": "🗑 Delete…",
    "btn.take_down_yes": "🗑 Yes, delete everywhere",
    "btn.keep": "« Keep it",
    "takedown.ask": (
        "🗑 Delete post #{post_id} from every platform it went out to?\n{targets}\n\n"
        "This can't be undone; Nexus keeps the post as a record."
    ),
    "takedown.none": "Post #{post_id} is not live anywhere any more: nothing to delete.",
    "takedown.deleting": "🗑 Deleting post #{post_id}…",
    "takedown.done": "🗑 Post #{post_id} is deleted:\n{lines}",
    "takedown.partial": (
        "🗑 Post #{post_id} could not be deleted everywhere:\n{lines}\n\n"
        "Tap 🗑 Delete… under the post to try the rest again."
    ),
    "takedown.line_ok": "✓ {target}: deleted",
    "takedown.line_failed": "✗ {target}: {reason}",
    "takedown.kept": "Post #{post_id} stays up.",
    "takedown.record": "🗑 <b>Post #{post_id}</b> was published, then deleted from every platform.",
    "btn.stats_days": "{days} days",
    "btn.stats_all": "All",
    "stats.all": "all platforms",
    "stats.chart_title": "Last {days} days · {platform}",
    "stats.chart_engagement": "Engagement (likes + reposts + replies)",
    "stats.chart_posts": "Posts",
    "stats.empty": (
        "📊 No published posts in the last {days} days yet ({platform}). "
        "Once posts go out, their numbers show up here."
    ),
    "stats.head": "📊 <b>Last {days} days</b> · {platform}",
    "stats.posts": "Posts: <b>{posts}</b> ({publications} across targets)",
    "stats.engagement": "Engagement: <b>{total}</b> in total, median {median} per post",
    "stats.best": "Best post: #{post_id} on {target}, {engagement} interactions ({link})",
    "stats.best_nolink": "Best post: #{post_id} on {target}, {engagement} interactions",
    "stats.link": "open",
    "stats.platform_line": "• {platform}: {posts} posts, {engagement} interactions",
    "stats.followers": "👥 {target}: {first} → {last} ({change})",
    "stats.best_time": "⏰ Best time to post: {when}",
    "stats.best_time_unknown": "⏰ Best time to post: I can tell after {count} published posts.",
    "stats.ai": "🤖 AI this month: {calls} calls, {tokens} tokens, ≈ ${cost}",
    "stats.more": "(the numbers are in the next message)",
    "post.stats.head": "📊 <b>Post #{post_id}</b>",
    "post.stats.line": (
        "{target}: ❤️ {likes} · 🔁 {reposts} · 💬 {replies}{views} · {link}\n    {synced}"
    ),
    "post.stats.views": " · 👁 {views}",
    "post.stats.synced": "updated {when}",
    "post.stats.never": "not synced yet (first numbers an hour after publishing)",
    "post.stats.none": "Post #{post_id} has not been published anywhere.",
    # --- digest and alerts ---------------------------------------------------------------------
    "cmd.digest": "Daily digest: /digest, /digest off, /digest at 08:30",
    "digest.title": "📊 <b>Digest for {day}</b>",
    "digest.quiet": "😴 A quiet day: nothing was published yesterday and nothing is queued today.",
    "digest.none": "Nothing was published yesterday.",
    "digest.published": "📤 Published: {count} ({platforms})",
    "digest.link": "• {target}: {post}",
    "digest.more": "• … and {count} more",
    "digest.engagement": (
        "💬 Engagement: {total} in all, {median} per post, {change} against the 7-day median "
        "of {baseline}"
    ),
    "digest.engagement_new": "💬 Engagement: {total} in all (no earlier week to compare with)",
    "digest.top": "🏆 Top post: {post} on {target}, {score} reactions",
    "digest.failures": "❌ Failed: {count}",
    "digest.failure": "• #{post_id} on {target}: {reason}",
    "digest.queue": "🗓 Today: {count} scheduled, first at {times}",
    "digest.queue_empty": "🗓 Nothing is scheduled for today.",
    "digest.footer": (
        "<i>Daily at {at} ({tz}). /digest off stops it, /digest at 08:30 moves it.</i>"
    ),
    "digest.chart.title": "Last 8 days",
    "digest.chart.engagement": "Engagement",
    "digest.chart.posts": "Posts",
    "digest.on": "✅ The daily digest comes at {at} ({tz}).",
    "digest.off": "The daily digest is off. /digest on brings it back.",
    "digest.bad_time": (
        "I can't read “{text}” as a time of day. Send e.g. <code>/digest at 07:30</code>."
    ),
    "digest.usage": (
        "<code>/digest</code> sends one now, <code>/digest off</code> and "
        "<code>/digest on</code> stop and resume the daily one, "
        "<code>/digest at 07:30</code> moves it."
    ),
    "digest.failed": "⚠️ I could not send the digest. Try again in a minute.",
    "alert.auth": (
        "🔑 <b>{target}</b> failed its check: {reason}. Reconnect or fix it in /accounts."
    ),
    "alert.expiry": (
        "🔑 The access token of <b>{target}</b> expires {when}. Reconnect it in /accounts."
    ),
    "alert.expired": (
        "🔑 The access token of <b>{target}</b> expired {when}. Reconnect it in /accounts."
    ),
    "alert.risk": (
        "⚠️ <b>Post #{post_id}</b> is due {when} on {target}, but {target} failed its last "
        "check: {reason}. Reconnect it in /accounts or reschedule the post (/queue)."
    ),
    "alert.queue": (
        "🚦 <b>{count} publications are overdue</b> and still waiting. Is a worker running?"
    ),
    "alert.silence": "🤫 Nothing has been published for {hours} hours (last post {when}).",
    "alert.engagement": (
        "📉 Engagement fell: yesterday's posts got {median} reactions each, {change} against the "
        "7-day median of {baseline}."
    ),
    "alert.automation": "🤖 Automation <b>{name}</b> failed: {reason}",
    "alert.budget": (
        "💸 This month's AI budget is used up: {spent} spent of {budget}. "
        "Raise NEXUS_AI_BUDGET_USD or wait for the new month."
    ),
    "alert.muted": "🔕 Muted until {until}.",
    "btn.mute.1": "🔕 Mute 24 h",
    "btn.mute.7": "🔕 Mute 7 days",
    # --- automation: /rules, /sources, rule and feed failures ---
    "cmd.rules": "Automation rules: events → drafts, posts, messages",
    "cmd.sources": "Webhooks and RSS/Atom feeds",
    "btn.delete": "🗑",
    "btn.delete_yes": "🗑 Yes, delete",
    "rules.list": (
        "⚙️ <b>Rules</b>: each event from /sources runs the enabled rules that match it.\n"
        "{lines}\n\nTap a rule to turn it on or off; export, edit and import them as YAML."
    ),
    "rules.none": "No rules yet. Import some as YAML (the README has an example).",
    "rules.line_on": "✅ <b>{name}</b> on <code>{event}</code> · {last}",
    "rules.line_off": "⏸ <b>{name}</b> on <code>{event}</code> (off) · {last}",
    "rules.never": "never ran",
    "rules.last_ok": "last run {when} ✓",
    "rules.last_failed": "last run {when} ✗ {detail}",
    "rules.btn.enable": "▶️ {name}",
    "rules.btn.disable": "⏸ {name}",
    "rules.btn.test": "🧪 Test",
    "rules.btn.import": "⬆️ Import",
    "rules.btn.export": "⬇️ Export",
    "rules.enabled": "Rule {name} is on.",
    "rules.disabled": "Rule {name} is off: events no longer run it.",
    "rules.confirm_delete": "Delete rule <b>{name}</b> and its run log? This cannot be undone.",
    "rules.deleted": "Rule {name} deleted.",
    "rules.gone": "That rule no longer exists.",
    "rules.ask_import": (
        "Send the rules as YAML: a message or a .yaml file. Rules with the names of existing "
        "ones replace them. /cancel stops."
    ),
    "rules.ask_test": (
        'Send a sample event as JSON, e.g. <code>{{"type": "github.release.published", '
        '"payload": {{"release": {{"tag_name": "v2.0"}}}}}}</code>. I\'ll say which rules '
        "match and what they would do; nothing is drafted or sent."
    ),
    "rules.export_empty": "There are no rules to export yet.",
    "rules.exported": "⚙️ {count} rule(s). Edit the file and send it back with /rules import.",
    "rules.file_too_big": "That file is too big (the limit is {limit} KB). Send a smaller one.",
    "rules.not_utf8": "That file is not UTF-8 text. Save it as UTF-8 and send it again.",
    "rules.import_failed": (
        "❌ Nothing was imported: {reason}.\nFix it and send the whole document again, or /cancel."
    ),
    "rules.imported": "✅ Imported: {added} new rule(s), {replaced} replaced. /rules shows them.",
    "rules.all_targets": "every enabled account",
    "rules.would_draft": "• would draft a post for your approval from: <i>{text}</i>",
    "rules.would_notify": "• would send you: <i>{text}</i>",
    "rules.would_publish": (
        "• would publish to {targets} after {delay} min, without approval: <i>{text}</i>"
    ),
    "rules.would_publish_ai": (
        "• would publish an AI post to {targets} after {delay} min, without approval, "
        "written from: <i>{text}</i>"
    ),
    "rules.missing": "  ⚠️ not in the event (left empty): {fields}",
    "rules.match": "✅ <b>{name}</b> matches:\n{actions}",
    "rules.no_match": "➖ <b>{name}</b> does not match: {reason}",
    "rules.test_bad": "❌ {reason}. Send the sample event as a JSON object, or /cancel.",
    "rules.test_no_rules": "No rule is enabled, so nothing would happen.",
    "rules.test_result": "🧪 <b>Dry run</b> of <code>{event}</code> (nothing was done):\n\n{body}",
    "src.list": (
        "📡 <b>Sources</b>\n{lines}\n\nAdd a feed with <code>/sources add https://…</code> "
        "(checked every {minutes} min) or a webhook with the button below."
    ),
    "src.none": "No sources yet.",
    "src.kind_webhook": "webhook",
    "src.kind_github": "GitHub webhook",
    "src.line_webhook": "🔗 <b>{name}</b> ({kind})\n{url}",
    "src.line_feed": "📰 <b>{name}</b> ({mode})\n{url}\nlast checked: {polled}",
    "src.last_error": "⚠️ {error} ({failures} failure(s) in a row)",
    "src.never": "not yet",
    "src.mode_draft": "AI summaries for approval",
    "src.mode_rules": "events for the rules",
    "src.btn.delete": "🗑 {name}",
    "src.btn.webhook": "➕ Webhook",
    "src.btn.plain": "Plain webhook (any service)",
    "src.btn.github": "GitHub",
    "src.btn.mode_draft": "📝 AI summaries for my approval",
    "src.btn.mode_rules": "⚙️ rss.item events for my rules",
    "src.add_usage": "Send the feed's address: <code>/sources add https://example.com/feed.xml</code>",
    "src.checking": "🔎 Checking {url}…",
    "src.feed_bad": (
        "❌ I can't use {url}: {reason}. Check the address (it must be the feed itself, "
        "not the web page) and try again."
    ),
    "src.feed_ok": (
        "✅ <b>{title}</b> is a feed with {count} entries. What should new entries become? "
        "(The current ones are marked as seen.)"
    ),
    "src.feed_added_draft": (
        "✅ Feed <b>{name}</b> added; its {count} current entries are marked as seen. Every "
        "{minutes} min, new entries come to you as AI-written drafts."
    ),
    "src.feed_added_rules": (
        "✅ Feed <b>{name}</b> added; its {count} current entries are marked as seen. Every "
        "{minutes} min, new entries become <code>rss.item</code> events for your /rules."
    ),
    "src.expired": "That question has expired: send /sources add with the address again.",
    "src.ask_kind": "Which kind of webhook?",
    "src.ask_name": (
        "Send a short name for it: lowercase letters, digits and dashes, e.g. "
        "<code>github-releases</code>. It becomes part of the URL. /cancel stops."
    ),
    "src.bad_name": "❌ {reason}. Send another name, or /cancel.",
    "src.webhook_added": (
        "✅ Webhook <b>{name}</b> is ready.\nURL: <code>{url}</code>\nSecret: <code>{secret}</code>"
        "\n\n🔐 <b>Save the secret now: I will not show it again.</b> The sender signs each "
        "request with it, as the README's Webhooks section describes."
    ),
    "src.webhook_added_github": (
        "✅ GitHub webhook <b>{name}</b> is ready. In the repository: Settings → Webhooks → Add "
        "webhook.\nPayload URL: <code>{url}</code>\nContent type: application/json\n"
        "Secret: <code>{secret}</code>\n\n🔐 <b>Save the secret now: I will not show it again.</b>"
    ),
    "src.confirm_delete": (
        "Delete source <b>{name}</b>? Its URL stops accepting events and its history is removed."
    ),
    "src.deleted": "Source {name} deleted.",
    "src.gone": "That source no longer exists.",
}

RU: dict[str, str] = {
    "cmd.start": "Приветствие и состояние настройки",
    "cmd.new": "Черновик поста: /new <о чём пост>",
    "cmd.drafts": "Черновики, ждущие одобрения",
    "cmd.voice": "Голос бренда",
    "cmd.queue": "Запланированные посты",
    "cmd.timezone": "Ваш часовой пояс",
    "cmd.slots": "Слоты публикации по неделям",
    "cmd.accounts": "Куда уходят посты: подключённые аккаунты",
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
        "Под черновиком <b>🗓 Запланировать</b> выбирает время (или напишите его: "
        "<i>завтра 9:00</i>, <i>через 2 часа</i>, <i>25.12 10:00</i>); запланированный пост "
        "можно повторять или сделать вечнозелёным.\n\n"
        "/drafts — черновики, ждущие вас\n"
        "/queue — запланированные посты: опубликовать, перенести, отменить\n"
        "/slots — слоты публикации для «ближайшего свободного слота»\n"
        "/stats — посты, вовлечённость, лучшее время для публикаций\n"
        "/digest — ежедневная сводка сейчас; /digest off, /digest at 08:30\n"
        "/timezone — ваш часовой пояс\n"
        "/voice — тон, аудитория, что можно и нельзя, пример поста\n"
        "/rules — автоматизация: события становятся черновиками, постами, сообщениями\n"
        "/sources — вебхуки и RSS/Atom-ленты, откуда приходят события\n"
        "/cancel — отменить текущее действие"
    ),
    "refused": (
        "Извините, это личный бот Nexus. Если он ваш, добавьте ваш id {user_id} "
        "в NEXUS_OWNER_IDS и перезапустите его."
    ),
    "new.usage": "Напишите, о чём пост, например <code>/new анонс v2.3 с тёмной темой</code>",
    "new.not_text": "Я пишу по тексту: пришлите тему поста сообщением.",
    "new.empty": (
        "Тема пуста: в ней только невидимые символы. Напишите, о чём пост, например "
        "<code>/new анонс v2.3 с тёмной темой</code>"
    ),
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
    "preview.images": "🖼 Изображений: {count}",
    "preview.target_ok": "✓ {name} {count}/{limit}",
    "preview.target_thread": "✓ {name} {count}/{limit}: уйдёт {parts} постами",
    "preview.target_bad": "✗ {name} {count}/{limit}: {reason}",
    "preview.target_off": "⏸ {name}: для этого поста выключено",
    "preview.own_text": " · ✏️ свой текст",
    "variant.title": "🎯 <b>Черновик #{post_id}</b> · {name} ({index}/{total})",
    "variant.ask": (
        "✏️ Пришлите новый текст для {name} (черновик #{post_id}). Изменится только эта "
        "площадка; /cancel оставит как есть.\n\nСейчас:\n{text}"
    ),
    "variant.gone": "Этой площадки больше нет в черновике #{post_id}.",
    "media.no_draft": (
        "🖼 Пришлите фото с идеей в подписи или сначала идею, а потом фото: оно прикрепится "
        "к последнему черновику."
    ),
    "media.too_many": (
        "🖼 У черновика #{post_id} уже {count} изображений; в пост помещается не больше 10."
    ),
    "media.bad": (
        "🖼 Не получилось использовать этот файл: {reason}. Пришлите его как фото (JPEG или PNG)."
    ),
    "media.too_big": "🖼 Фото слишком большое: Telegram отдаёт ботам файлы до 20 МБ.",
    "images.title": "🖼 <b>Черновик #{post_id}</b>: изображений {count}, в порядке публикации",
    "images.line": "{number}. {width}×{height} {kind}, {size} КБ",
    "images.hint": (
        "🗑 <i>N</i> убирает это изображение из черновика, остальные сохраняют порядок. "
        "Пришлите ещё фото, чтобы добавить (до 10)."
    ),
    "images.none": "🖼 В <b>черновике #{post_id}</b> больше нет изображений. Пришлите фото, "
    "чтобы прикрепить.",
    "images.removed": "Изображение {number} убрано из черновика #{post_id}.",
    "images.below": "🖼 Черновик #{post_id}: изображения и кнопки ниже.",
    "images.cleared": "Все изображения убраны из черновика #{post_id}.",
    "images.missing": (
        "🖼 Изображения черновика #{post_id} нет в папке данных ({path}); уберите его здесь "
        "и пришлите фото снова."
    ),
    "btn.approve": "✅ Одобрить и опубликовать",
    "btn.edit": "✏️ Изменить",
    "btn.regenerate": "🔄 Переписать",
    "btn.reject": "🗑 Отклонить",
    "btn.variants": "🎯 Площадки и варианты",
    "btn.prev_target": "◀",
    "btn.next_target": "▶",
    "btn.edit_variant": "✏️ Изменить этот",
    "btn.regenerate_variant": "🔄 Переписать этот",
    "btn.images": "🖼 Фото ({count})",
    "btn.image_remove": "🗑 {number}",
    "btn.images_show": "👁 Показать",
    "btn.images_clear": "🗑 Убрать все",
    "btn.target_off": "⏸ Не публиковать",
    "btn.target_on": "▶️ Публиковать",
    "btn.restore": "↩️ Вернуть",
    "btn.back": "« Назад",
    "btn.retry": "🔁 Повторить",
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
    "regen.choose_variant": (
        "Как переписать текст для {name} в черновике #{post_id}? Остальные площадки не изменятся."
    ),
    "regen.ask_variant": (
        "Напишите, что изменить в тексте для {name} (черновик #{post_id}), например "
        "<i>короче, без хештегов</i>. /cancel оставит как есть."
    ),
    "regenerating_variant": "🔄 Переписываю текст для {name} в черновике #{post_id}…",
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
    "btn.schedule": "🗓 Запланировать",
    "btn.publish_now": "▶️ Опубликовать сейчас",
    "btn.reschedule": "🕓 Перенести",
    "btn.cancel_schedule": "✖️ Отменить",
    "btn.edit_failed": "✏️ Изменить",
    "btn.drop": "🗑 Отказаться",
    "btn.drop_overdue": "🗑 Отказаться (в черновики)",
    "btn.posted": "✅ Да, он там",
    "btn.send_again": "🔁 Отправить снова",
    "sched.choose": "Когда опубликовать пост #{post_id}? Время — {tz}.",
    "sched.in_1h": "Через час",
    "sched.evening": "Сегодня в 18:00",
    "sched.evening_tomorrow": "Завтра в 18:00",
    "sched.tomorrow": "Завтра в 09:00",
    "sched.slot": "Ближайший свободный слот",
    "sched.other": "Другое время…",
    "sched.ask": (
        "Пришлите время для поста #{post_id}, например <code>18:30</code>, "
        "<code>завтра 9:00</code>, <code>через 2 часа</code>, <code>25.12 10:00</code>, "
        "<code>в пятницу 10:00</code>. Ваш часовой пояс — {tz} (/timezone). /cancel — отмена."
    ),
    "sched.err.unreadable": (
        "Не понимаю «{text}» как время. Попробуйте, например, <code>18:30</code>, "
        "<code>завтра 9:00</code>, <code>через 2 часа</code> или <code>25.12 10:00</code>."
    ),
    "sched.err.past": "{when} уже прошло. Пришлите время в будущем.",
    "sched.err.too_far": "Это больше чем через два года. Пришлите время поближе.",
    "sched.done": "🗓 <b>Пост #{post_id} запланирован</b> на {when} → {targets}",
    "sched.cancelled": "Пост #{post_id} снова в черновиках.",
    "sched.not_scheduled": "Пост #{post_id} больше не запланирован ({status}).",
    "sched.now": "▶️ Пост #{post_id} публикуется сейчас.",
    "queue.empty": (
        "Ничего не запланировано. Пришлите идею и нажмите 🗓 Запланировать под черновиком."
    ),
    "queue.list": "🗓 <b>Запланированные посты</b> ({count}), время — {tz}. Нажмите, чтобы открыть.",
    "queue.item": "{when} · #{post_id} {snippet}",
    "alert.overdue": (
        "⏰ <b>Пост #{post_id}</b> должен был выйти {when}, но Nexus тогда не работал. "
        "Опубликовать сейчас?"
    ),
    "alert.unsure": (
        "❓ <b>Пост #{post_id}</b>: отправка в {target} оборвалась до подтверждения (ответ не "
        "пришёл вовремя или Nexus остановился), и я не знаю, вышел ли он. Он там есть?"
    ),
    "unsure.posted": "Принято: пост #{post_id} есть в {target}.",
    "unsure.again": "Отправляю пост #{post_id} в {target} снова.",
    "unsure.done": "На этот вопрос уже ответили.",
    "unsure.dropped": "Пост #{post_id} для {target} отменён: туда больше ничего не отправляется.",
    "unsure.preview": (
        "❓ <b>Пост #{post_id}</b>: не знаю, дошёл ли он до {target}. "
        "Ответьте, пожалуйста, на вопрос ниже."
    ),
    "post.sending": "📤 Пост #{post_id} прямо сейчас отправляется в {targets}.",
    "post.asking": "❓ Пост #{post_id} ждёт вашего ответа про {targets}: он вышел?",
    "post.nothing_waiting": "У поста #{post_id} больше ничего не ждёт своего времени.",
    "sched.cancelled_part": "✖️ Пост #{post_id} отменён для {targets}.",
    "queue.item_sending": "📤 отправляется · #{post_id} {snippet}",
    "queue.item_asking": "❓ ждёт ответа · #{post_id} {snippet}",
    "btn.posted_on": "✅ Он есть в {target}",
    "btn.drop_unsure": "🗑 Отменить",
    "failed.dropped": "Неудачные цели поста #{post_id} отменены.",
    "failed.nothing": "В посте #{post_id} нечего повторять.",
    "failed.cannot_edit": (
        "Пост #{post_id} уже вышел в части мест, поэтому в черновики он не вернётся; "
        "нажмите «Повторить» или «Отказаться»."
    ),
    "post.gone": "Этого поста больше нет.",
    "tz.current": (
        "Ваш часовой пояс — {tz} (местное время {now}). Чтобы изменить, пришлите "
        "<code>/timezone</code> с городом или названием, например <code>/timezone Москва</code>."
    ),
    "tz.set": "✅ Часовой пояс: {tz}. Местное время там: {now}.",
    "tz.choose": "Какой часовой пояс вы имели в виду?",
    "tz.unknown": (
        "Не знаю часового пояса «{query}». Попробуйте крупный город рядом или название "
        "вроде Europe/Moscow."
    ),
    "btn.repeat": "🔁 Повтор…",
    "btn.evergreen_off": "♻️ Вечнозелёный: выкл",
    "btn.evergreen_on": "♻️ Вечнозелёный: вкл",
    "repeat.line": "🔁 Повторяется {rule}",
    "evergreen.line": "♻️ Вечнозелёный: время от времени возвращается в свободные слоты",
    "repeat.ask": (
        "Как часто повторять пост #{post_id}? Например <code>каждый день</code>, "
        "<code>по будням</code>, <code>every monday</code>, <code>0 9 * * 1-5</code>; "
        "добавьте <code>до 31.12</code> или <code>5 раз</code>, чтобы ограничить. "
        "<code>never</code> отменит повтор, /cancel оставит как есть."
    ),
    "repeat.err": (
        "Не понимаю «{text}» как правило повтора. Попробуйте <code>каждый день</code>, "
        "<code>по будням до 31.12</code> или <code>daily x10</code>."
    ),
    "repeat.set": "🔁 Пост #{post_id} повторяется {rule}. Первый раз: {when}.",
    "repeat.cleared": "Пост #{post_id} больше не повторяется.",
    "evergreen.set": "♻️ Пост #{post_id} вечнозелёный: он будет снова выходить в свободные слоты.",
    "evergreen.unset": "Пост #{post_id} больше не вечнозелёный.",
    "slots.show": "🗓 <b>Слоты публикации</b> (время — {tz})\n{lines}\n\n{help}",
    "slots.line": "{target}: {slots}",
    "slots.none": "пока нет (используются 09:00 и 18:00 каждый день)",
    "slots.help": (
        "«Ближайший свободный слот» берёт первый свободный из них. Задать: "
        "<code>/slots пн-пт 09:00 18:00; сб 11:00</code> (все каналы) или "
        "<code>/slots @channel по будням 10:00</code>; <code>/slots clear</code> удалит их."
    ),
    "slots.saved": "✅ Слоты сохранены.",
    "slots.cleared": "Слоты удалены: используются 09:00 и 18:00 каждый день.",
    "slots.err": (
        "Не понимаю «{text}» как слоты. Попробуйте <code>пн-пт 09:00 18:00</code> или "
        "<code>выходные 11:00</code>."
    ),
    "slots.unknown_target": "Канал {target} не подключён. Подключены: {targets}.",
    "acc.list": "🔌 <b>Аккаунты</b>: каждый одобренный пост уходит во все включённые.\n{lines}",
    "acc.none": "Аккаунтов пока нет. Подключите ниже (NEXUS_CHANNEL тоже добавляет канал).",
    "acc.line_on": "✅ {target}",
    "acc.line_error": "⚠️ {target}",
    "acc.line_off": "⏸ {target} (выключен)",
    "acc.btn.enable": "▶️ Включить {target}",
    "acc.btn.disable": "⏸ Выключить {target}",
    "acc.btn.disconnect": "🔌 Отключить",
    "acc.btn.connect": "➕ Подключить аккаунт",
    "acc.pick": "Какая платформа?",
    "acc.ask": "{platform}, шаг {step} из {steps}: пришлите {what}.",
    "acc.ask.secret": " Я удалю ваше сообщение, как только прочитаю его.",
    "acc.ask.optional": " Пришлите <code>-</code>, чтобы оставить по умолчанию.",
    "acc.field.channel": "@имя канала или его id -100… (сначала сделайте меня админом)",
    "acc.field.instance": "адрес вашего инстанса, например https://mastodon.social",
    "acc.field.access_token": (
        "токен доступа (Настройки → Разработка → Новое приложение, с правами "
        "write:statuses, write:media и read:accounts)"
    ),
    "acc.field.handle": "ваш хэндл, например nexus.bsky.social",
    "acc.field.app_password": "пароль приложения (Настройки → Приватность → Пароли приложений)",
    "acc.field.service": "адрес вашего PDS, если он свой, например https://pds.example.com",
    "acc.field.api_key": (
        "API key приложения (developer.x.com → ваше приложение → Keys and tokens; нужны "
        "права Read and write)"
    ),
    "acc.field.api_secret": "API key secret приложения",
    "acc.field.x.access_token": (
        "ваш access token (Keys and tokens → Access token and secret → Generate)"
    ),
    "acc.field.access_token_secret": "access token secret",
    "acc.field.webhook_url": (
        "адрес вебхука (настройки канала → Интеграция → Вебхуки → Копировать URL вебхука)"
    ),
    "acc.field.group_id": "числовой id сообщества (vk.com/club123456 → 123456)",
    "acc.field.vk.access_token": (
        "ключ доступа сообщества с правами на стену и фото (Управление → Работа с API → "
        "Создать ключ)"
    ),
    "acc.field.author_urn": (
        "кто публикует: urn:li:organization:123 для страницы или urn:li:person:… для вас"
    ),
    "acc.field.linkedin.access_token": (
        "токен доступа с w_member_social или w_organization_social"
    ),
    "acc.field.user_id": "ваш id пользователя Threads (только цифры)",
    "acc.field.client_id": "OAuth 2.0 client id вашего приложения X (портал разработчика)",
    "acc.field.client_secret": "OAuth 2.0 client secret (только для конфиденциальных клиентов)",
    "acc.field.x_oauth2.access_token": "OAuth 2.0 access token пользователя",
    "acc.field.refresh_token": (
        "OAuth 2.0 refresh token (нужен scope offline.access); Nexus обновляет им доступ "
        "и сохраняет новую пару"
    ),
    "acc.health.error": "   ⚠️ {reason}",
    "acc.health.expires": "   ⏳ токен истекает {date}: переподключите до этого",
    "acc.health.expired": "   ⛔ токен истёк {date}: переподключите аккаунт",
    "acc.field.threads.access_token": (
        "токен доступа Threads с threads_basic и threads_content_publish"
    ),
    "acc.field.instagram.user_id": (
        "id профессионального аккаунта Instagram (только цифры; Graph API Explorer → "
        "me/accounts?fields=instagram_business_account)"
    ),
    "acc.field.instagram.access_token": (
        "долгоживущий токен доступа с instagram_basic и instagram_content_publish"
    ),
    "acc.bad_number": "Здесь нужно число. Пришлите ещё раз или /cancel.",
    "acc.bad_url": "Это не адрес, начинающийся с https://. Пришлите ещё раз или /cancel.",
    "acc.not_deleted": "⚠️ Не удалось удалить сообщение с секретом: удалите его сами.",
    "acc.checking": "🔎 Проверяю данные в {platform}…",
    "acc.failed": (
        "❌ {platform} не принял их: {reason}. Ничего не сохранено; /accounts — ещё раз."
    ),
    "acc.connected": "✅ Подключён {target}. Одобренные посты уйдут и туда.",
    "acc.disconnected": "{target} отключён: его учётные данные удалены.",
    "acc.enabled": "{target} включён.",
    "acc.disabled": "{target} выключен: посты его пропускают, пока вы его не включите.",
    "cancel.done": "Отменено. Ничего не изменилось.",
    "cancel.nothing": "Отменять нечего.",
    "key.created": (
        "🔑 Я создал секретный ключ <code>{path}</code>. Им шифруются сохранённые учётные "
        "данные: сделайте его резервную копию, без него их не прочитать."
    ),
    "status.draft": "черновик",
    "status.scheduled": "запланирован",
    "status.publishing": "публикуется",
    "status.published": "опубликован",
    "status.partial": "опубликован частично",
    "status.failed": "не опубликован",
    "status.rejected": "отклонён",
    # --- stats (metrics) ---
    "cmd.stats": "Цифры: посты, вовлечённость, лучшее время",
    "btn.stats": "📊 Статистика",
    "btn.take_down": "🗑 Удалить…",
    "btn.take_down_yes": "🗑 Да, удалить везде",
    "btn.keep": "« Оставить",
    "takedown.ask": (
        "🗑 Удалить пост #{post_id} со всех площадок, куда он ушёл?\n{targets}\n\n"
        "Это нельзя отменить; в Nexus пост останется как запись."
    ),
    "takedown.none": "Пост #{post_id} уже нигде не опубликован: удалять нечего.",
    "takedown.deleting": "🗑 Удаляю пост #{post_id}…",
    "takedown.done": "🗑 Пост #{post_id} удалён:\n{lines}",
    "takedown.partial": (
        "🗑 Пост #{post_id} удалён не везде:\n{lines}\n\n"
        "Нажмите 🗑 Удалить… под постом, чтобы попробовать ещё раз."
    ),
    "takedown.line_ok": "✓ {target}: удалён",
    "takedown.line_failed": "✗ {target}: {reason}",
    "takedown.kept": "Пост #{post_id} остаётся.",
    "takedown.record": "🗑 <b>Пост #{post_id}</b> был опубликован, затем удалён со всех площадок.",
    "btn.stats_days": "{days} дней",
    "btn.stats_all": "Все",
    "stats.all": "все платформы",
    "stats.chart_title": "Последние {days} дней · {platform}",
    "stats.chart_engagement": "Вовлечённость (лайки + репосты + ответы)",
    "stats.chart_posts": "Посты",
    "stats.empty": (
        "📊 За последние {days} дней опубликованных постов пока нет ({platform}). "
        "Когда посты выйдут, их цифры появятся здесь."
    ),
    "stats.head": "📊 <b>Последние {days} дней</b> · {platform}",
    "stats.posts": "Постов: <b>{posts}</b> ({publications} по всем каналам)",
    "stats.engagement": "Вовлечённость: <b>{total}</b> всего, медиана {median} на пост",
    "stats.best": "Лучший пост: #{post_id} в {target}, {engagement} реакций ({link})",
    "stats.best_nolink": "Лучший пост: #{post_id} в {target}, {engagement} реакций",
    "stats.link": "открыть",
    "stats.platform_line": "• {platform}: постов {posts}, реакций {engagement}",
    "stats.followers": "👥 {target}: {first} → {last} ({change})",
    "stats.best_time": "⏰ Лучшее время для постов: {when}",
    "stats.best_time_unknown": "⏰ Лучшее время для постов: скажу после {count} публикаций.",
    "stats.ai": "🤖 ИИ в этом месяце: {calls} вызовов, {tokens} токенов, ≈ ${cost}",
    "stats.more": "(цифры — в следующем сообщении)",
    "post.stats.head": "📊 <b>Пост #{post_id}</b>",
    "post.stats.line": (
        "{target}: ❤️ {likes} · 🔁 {reposts} · 💬 {replies}{views} · {link}\n    {synced}"
    ),
    "post.stats.views": " · 👁 {views}",
    "post.stats.synced": "обновлено {when}",
    "post.stats.never": "ещё не обновлялось (первые цифры через час после публикации)",
    "post.stats.none": "Пост #{post_id} нигде не опубликован.",
    # --- digest and alerts ---------------------------------------------------------------------
    "cmd.digest": "Ежедневная сводка: /digest, /digest off, /digest at 08:30",
    "digest.title": "📊 <b>Сводка за {day}</b>",
    "digest.quiet": "😴 Тихий день: вчера ничего не вышло, на сегодня ничего не запланировано.",
    "digest.none": "Вчера ничего не опубликовано.",
    "digest.published": "📤 Опубликовано: {count} ({platforms})",
    "digest.link": "• {target}: {post}",
    "digest.more": "• … и ещё {count}",
    "digest.engagement": (
        "💬 Реакции: всего {total}, {median} на пост, {change} к медиане за 7 дней ({baseline})"
    ),
    "digest.engagement_new": "💬 Реакции: всего {total} (прошлой недели для сравнения нет)",
    "digest.top": "🏆 Лучший пост: {post} в {target}, реакций: {score}",
    "digest.failures": "❌ Не вышло: {count}",
    "digest.failure": "• #{post_id} в {target}: {reason}",
    "digest.queue": "🗓 Сегодня: запланировано {count}, первые в {times}",
    "digest.queue_empty": "🗓 На сегодня ничего не запланировано.",
    "digest.footer": (
        "<i>Каждый день в {at} ({tz}). /digest off отключает, /digest at 08:30 переносит.</i>"
    ),
    "digest.chart.title": "Последние 8 дней",
    "digest.chart.engagement": "Реакции",
    "digest.chart.posts": "Посты",
    "digest.on": "✅ Ежедневная сводка приходит в {at} ({tz}).",
    "digest.off": "Ежедневная сводка отключена. /digest on включает её снова.",
    "digest.bad_time": (
        "Не понимаю «{text}» как время. Пришлите, например, <code>/digest at 07:30</code>."
    ),
    "digest.usage": (
        "<code>/digest</code> присылает сводку сейчас, <code>/digest off</code> и "
        "<code>/digest on</code> отключают и включают ежедневную, "
        "<code>/digest at 07:30</code> переносит её."
    ),
    "digest.failed": "⚠️ Не удалось отправить сводку. Попробуйте через минуту.",
    "alert.auth": (
        "🔑 <b>{target}</b> не прошёл проверку: {reason}. "
        "Переподключите или исправьте аккаунт в /accounts."
    ),
    "alert.expiry": "🔑 Токен <b>{target}</b> истекает {when}. Переподключите аккаунт в /accounts.",
    "alert.expired": "🔑 Токен <b>{target}</b> истёк {when}. Переподключите аккаунт в /accounts.",
    "alert.risk": (
        "⚠️ <b>Пост #{post_id}</b> должен выйти {when} в {target}, но {target} не прошёл "
        "последнюю проверку: {reason}. Переподключите его в /accounts или перенесите пост (/queue)."
    ),
    "alert.queue": (
        "🚦 <b>Просрочено публикаций: {count}</b>, они всё ещё ждут. Запущен ли worker?"
    ),
    "alert.silence": "🤫 Уже {hours} ч ничего не публикуется (последний пост {when}).",
    "alert.engagement": (
        "📉 Реакции упали: вчерашние посты получили по {median}, {change} к медиане за 7 дней "
        "({baseline})."
    ),
    "alert.automation": "🤖 Автоматизация <b>{name}</b> не сработала: {reason}",
    "alert.budget": (
        "💸 Бюджет на ИИ в этом месяце исчерпан: потрачено {spent} из {budget}. "
        "Увеличьте NEXUS_AI_BUDGET_USD или дождитесь нового месяца."
    ),
    "alert.muted": "🔕 Без уведомлений до {until}.",
    "btn.mute.1": "🔕 Тишина на сутки",
    "btn.mute.7": "🔕 Тишина на 7 дней",
    # --- automation: /rules, /sources, rule and feed failures ---
    "cmd.rules": "Правила автоматизации: события → черновики, посты, сообщения",
    "cmd.sources": "Вебхуки и RSS/Atom-ленты",
    "btn.delete": "🗑",
    "btn.delete_yes": "🗑 Да, удалить",
    "rules.list": (
        "⚙️ <b>Правила</b>: каждое событие из /sources запускает подходящие включённые правила.\n"
        "{lines}\n\nНажмите на правило, чтобы включить или выключить его; экспортируйте, "
        "правьте и импортируйте их в YAML."
    ),
    "rules.none": "Правил пока нет. Импортируйте их в YAML (пример есть в README).",
    "rules.line_on": "✅ <b>{name}</b> на <code>{event}</code> · {last}",
    "rules.line_off": "⏸ <b>{name}</b> на <code>{event}</code> (выключено) · {last}",
    "rules.never": "ещё не запускалось",
    "rules.last_ok": "последний запуск {when} ✓",
    "rules.last_failed": "последний запуск {when} ✗ {detail}",
    "rules.btn.enable": "▶️ {name}",
    "rules.btn.disable": "⏸ {name}",
    "rules.btn.test": "🧪 Проверить",
    "rules.btn.import": "⬆️ Импорт",
    "rules.btn.export": "⬇️ Экспорт",
    "rules.enabled": "Правило {name} включено.",
    "rules.disabled": "Правило {name} выключено: события его больше не запускают.",
    "rules.confirm_delete": "Удалить правило <b>{name}</b> и журнал его запусков? Это необратимо.",
    "rules.deleted": "Правило {name} удалено.",
    "rules.gone": "Этого правила больше нет.",
    "rules.ask_import": (
        "Пришлите правила в YAML: сообщением или файлом .yaml. Правила с именами существующих "
        "заменят их. /cancel — отмена."
    ),
    "rules.ask_test": (
        'Пришлите пример события в JSON, например <code>{{"type": "github.release.published", '
        '"payload": {{"release": {{"tag_name": "v2.0"}}}}}}</code>. Я скажу, какие '
        "правила подходят и что они сделали бы; ничего не будет создано или отправлено."
    ),
    "rules.export_empty": "Экспортировать пока нечего: правил нет.",
    "rules.exported": "⚙️ Правил: {count}. Отредактируйте файл и пришлите его через /rules import.",
    "rules.file_too_big": "Файл слишком большой (предел {limit} КБ). Пришлите файл поменьше.",
    "rules.not_utf8": "Это не текст в UTF-8. Сохраните файл в UTF-8 и пришлите снова.",
    "rules.import_failed": (
        "❌ Ничего не импортировано: {reason}.\nИсправьте и пришлите документ целиком, или /cancel."
    ),
    "rules.imported": (
        "✅ Импортировано: новых правил {added}, заменено {replaced}. /rules — список."
    ),
    "rules.all_targets": "все включённые аккаунты",
    "rules.would_draft": "• создало бы черновик на одобрение по теме: <i>{text}</i>",
    "rules.would_notify": "• прислало бы вам: <i>{text}</i>",
    "rules.would_publish": (
        "• опубликовало бы без одобрения в {targets} через {delay} мин: <i>{text}</i>"
    ),
    "rules.would_publish_ai": (
        "• опубликовало бы без одобрения пост ИИ в {targets} через {delay} мин, по теме: "
        "<i>{text}</i>"
    ),
    "rules.missing": "  ⚠️ нет в событии (будет пусто): {fields}",
    "rules.match": "✅ <b>{name}</b> подходит:\n{actions}",
    "rules.no_match": "➖ <b>{name}</b> не подходит: {reason}",
    "rules.test_bad": "❌ {reason}. Пришлите пример события как JSON-объект, или /cancel.",
    "rules.test_no_rules": "Нет включённых правил, так что ничего бы не произошло.",
    "rules.test_result": (
        "🧪 <b>Пробный прогон</b> <code>{event}</code> (ничего не сделано):\n\n{body}"
    ),
    "src.list": (
        "📡 <b>Источники</b>\n{lines}\n\nЛенту добавляет <code>/sources add https://…</code> "
        "(проверка каждые {minutes} мин), вебхук — кнопка ниже."
    ),
    "src.none": "Источников пока нет.",
    "src.kind_webhook": "вебхук",
    "src.kind_github": "вебхук GitHub",
    "src.line_webhook": "🔗 <b>{name}</b> ({kind})\n{url}",
    "src.line_feed": "📰 <b>{name}</b> ({mode})\n{url}\nпоследняя проверка: {polled}",
    "src.last_error": "⚠️ {error} (ошибок подряд: {failures})",
    "src.never": "ещё не было",
    "src.mode_draft": "сводки ИИ на одобрение",
    "src.mode_rules": "события для правил",
    "src.btn.delete": "🗑 {name}",
    "src.btn.webhook": "➕ Вебхук",
    "src.btn.plain": "Обычный вебхук (любой сервис)",
    "src.btn.github": "GitHub",
    "src.btn.mode_draft": "📝 Сводки ИИ на моё одобрение",
    "src.btn.mode_rules": "⚙️ События rss.item для моих правил",
    "src.add_usage": "Пришлите адрес ленты: <code>/sources add https://example.com/feed.xml</code>",
    "src.checking": "🔎 Проверяю {url}…",
    "src.feed_bad": "❌ Не могу использовать {url}: {reason}. Проверьте адрес (нужна сама лента, "
    "а не веб-страница) и попробуйте ещё раз.",
    "src.feed_ok": (
        "✅ <b>{title}</b> — лента, записей: {count}. Во что превращать новые записи? "
        "(Текущие отмечены как просмотренные.)"
    ),
    "src.feed_added_draft": (
        "✅ Лента <b>{name}</b> добавлена; её текущие записи ({count}) отмечены как просмотренные. "
        "Каждые {minutes} мин новые записи будут приходить вам черновиками от ИИ."
    ),
    "src.feed_added_rules": (
        "✅ Лента <b>{name}</b> добавлена; её текущие записи ({count}) отмечены как просмотренные. "
        "Каждые {minutes} мин новые записи станут событиями <code>rss.item</code> для /rules."
    ),
    "src.expired": "Этот вопрос устарел: пришлите /sources add с адресом ещё раз.",
    "src.ask_kind": "Какой вебхук?",
    "src.ask_name": (
        "Пришлите короткое имя: строчные латинские буквы, цифры и дефисы, например "
        "<code>github-releases</code>. Оно станет частью адреса. /cancel — отмена."
    ),
    "src.bad_name": "❌ {reason}. Пришлите другое имя, или /cancel.",
    "src.webhook_added": (
        "✅ Вебхук <b>{name}</b> готов.\nАдрес: <code>{url}</code>\nСекрет: <code>{secret}</code>"
        "\n\n🔐 <b>Сохраните секрет сейчас: больше я его не покажу.</b> Отправитель подписывает "
        "им каждый запрос, как описано в разделе README о вебхуках."
    ),
    "src.webhook_added_github": (
        "✅ Вебхук GitHub <b>{name}</b> готов. В репозитории: Settings → Webhooks → Add "
        "webhook.\nPayload URL: <code>{url}</code>\nContent type: application/json\n"
        "Secret: <code>{secret}</code>\n\n🔐 <b>Сохраните секрет сейчас: больше я его не "
        "покажу.</b>"
    ),
    "src.confirm_delete": (
        "Удалить источник <b>{name}</b>? Его адрес перестанет принимать события, история удалится."
    ),
    "src.deleted": "Источник {name} удалён.",
    "src.gone": "Этого источника больше нет.",
}

CATALOGUE: dict[str, dict[str, str]] = {"en": EN, "ru": RU}

#: Texts that depend on a number: every form the language has, chosen by `plural_form`.
#: English has two (one, other); Russian three (one, few, many).
EN_PLURALS: dict[str, tuple[str, ...]] = {}
RU_PLURALS: dict[str, tuple[str, ...]] = {}
PLURALS: dict[str, dict[str, tuple[str, ...]]] = {"en": EN_PLURALS, "ru": RU_PLURALS}


def plural_form(language: str, count: int) -> int:
    """The index of the form a number takes (gettext's Plural-Forms rules)."""
    n = abs(count)
    if language in {"ru", "uk"}:
        if n % 10 == 1 and n % 100 != 11:
            return 0
        return 1 if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14 else 2
    return 0 if n == 1 else 1


def _escaped(values: dict[str, object]) -> dict[str, object]:
    """Every value made safe for Telegram HTML, except those already marked `Html`."""
    return {
        name: value if isinstance(value, Html) else html.escape(str(value), quote=False)
        for name, value in values.items()
    }


class Texts:
    """The catalogue in one language: `t("key", name=value)`."""

    def __init__(self, language: str) -> None:
        self.language = language if language in CATALOGUE else "en"
        self._texts = CATALOGUE[self.language]

    def __call__(self, key: str, **values: object) -> str:
        return self._texts[key].format(**_escaped(values))

    def n(self, key: str, count: int, **values: object) -> str:
        """A text with a number, in the form the number takes (`t.n("k", 3)` fills `{count}`)."""
        forms = PLURALS[self.language][key]
        template = forms[plural_form(self.language, count)]
        return template.format(**_escaped({"count": count, **values}))

    def has(self, key: str) -> bool:
        return key in self._texts

    def plain(self, key: str, **values: object) -> str:
        """For plain-text places (buttons, alerts, command menus): nothing is escaped."""
        return self._texts[key].format(**values)


from ui import texts_quota as _quota  # noqa: E402

EN.update(_quota.EN)
RU.update(_quota.RU)
EN_PLURALS.update(_quota.EN_PLURALS)
RU_PLURALS.update(_quota.RU_PLURALS)
