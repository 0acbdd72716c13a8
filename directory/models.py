"""The stored shape of the directory.

A team's published document (CONTRACT §1) is kept whole in `Team.data`, the one source for reads,
exports and revisions; the columns beside it are copies of the fields that lists filter, sort and
look up by, refreshed by the service layer on every save.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no offset of its own)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, datetime: UTCDateTime}


class Team(Base):
    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    department: Mapped[str | None] = mapped_column(String(200), index=True)
    location: Mapped[str | None] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    archived_at: Mapped[datetime | None] = mapped_column(default=None)

    tags: Mapped[list[TeamTag]] = relationship(
        back_populates="team", cascade="all, delete-orphan"
    )
    addresses: Mapped[list[ContactAddress]] = relationship(
        back_populates="team", cascade="all, delete-orphan"
    )
    revisions: Mapped[list[Revision]] = relationship(
        back_populates="team", cascade="all, delete-orphan", order_by="Revision.number.desc()"
    )
    search_terms: Mapped[list[TeamSearchTerm]] = relationship(
        cascade="all, delete-orphan", order_by="TeamSearchTerm.term", passive_deletes=True
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def archived(self) -> bool:
        return self.archived_at is not None

    def __repr__(self) -> str:
        return f"<Team {self.slug} v{self.version}>"


class TeamTag(Base):
    """One tag of a team, so that lists can filter by tag on SQLite and PostgreSQL alike."""

    __tablename__ = "team_tags"

    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(100), primary_key=True, index=True)
    team: Mapped[Team] = relationship(back_populates="tags")


class ContactAddress(Base):
    """A normalised e-mail address a team lists: the auto-reply's lookup key.

    Several teams may list one address (a parent team's shared mailbox, say); which of them the
    auto-reply answers for is recorded separately, in `AddressClaim`.
    """

    __tablename__ = "contact_addresses"
    __table_args__ = (UniqueConstraint("address", "team_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(320), index=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    team: Mapped[Team] = relationship(back_populates="addresses")


class Revision(Base):
    """Every saved version of a team, whole, so any of them can be shown, compared and restored.

    The primary key doubles as the directory's change sequence: the search index remembers the
    last one it applied and catches up from here.
    """

    __tablename__ = "revisions"
    __table_args__ = (UniqueConstraint("team_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    number: Mapped[int]
    action: Mapped[str] = mapped_column(String(20))
    author: Mapped[str] = mapped_column(String(320))
    note: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)

    team: Mapped[Team] = relationship(back_populates="revisions")


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str | None] = mapped_column(String(300), default=None)
    is_admin: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Part of every session and remember-me cookie: bumping it (sign-out, new password) ends them all.
    session_generation: Mapped[int] = mapped_column(default=0, server_default="0")

    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user", cascade="all, delete-orphan")

    # Flask-Login's protocol, spelled out so the model needs no Flask import.
    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        """Flask-Login's alternative id: a cookie made before the generation changed loads nobody."""
        return f"{self.id}:{self.session_generation}"


class ApiToken(Base):
    """A bearer token; only its SHA-256 is stored, the prefix lets people tell tokens apart."""

    __tablename__ = "api_tokens"
    __table_args__ = (Index("ix_api_tokens_hash", "token_hash", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64))
    scope: Mapped[str] = mapped_column(String(10))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)

    user: Mapped[User | None] = relationship(back_populates="tokens")

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class AddressClaim(Base):
    """Which team answers for an e-mail address: a recorded decision, not a side effect of edits.

    The first team to list an address holds it. Its claim outlives the team removing and re-adding
    the address; only the holder's owners or an administrator hand it over (or archiving the
    holder, an administrator's act). The auto-reply answers for the holder while it lists the address.
    """

    __tablename__ = "address_claims"

    address: Mapped[str] = mapped_column(String(320), primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_by: Mapped[str] = mapped_column(String(320))

    team: Mapped[Team] = relationship()


class AddressNote(Base):
    """A message to a team's owners about an address it answers for (another team listed it too,
    or it was handed over to them), so that they learn of it from the directory itself."""

    __tablename__ = "address_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    address: Mapped[str] = mapped_column(String(320))
    message: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SignInFailure(Base):
    """One refused password sign-in, kept while it counts towards the throttle; in the database so
    that every worker and app server counts the same attempts."""

    __tablename__ = "sign_in_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    account: Mapped[str] = mapped_column(String(320), index=True)
    client: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class SlugAlias(Base):
    """A slug a team used to have, kept so that old links and integrations still find it.

    Each old slug points at one team; a team later created or renamed to that slug takes it over
    and the alias is dropped, so a current slug always wins over an old one.
    """

    __tablename__ = "slug_aliases"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ServiceRequest(Base):
    """One request a team received, as an integration reported it, with the promises the team's page
    made for it when it arrived (`reply_by`, `done_by`, from the revision then in force) and whether
    each event met its promise. Stored, not recomputed, so that a later change to the team's hours
    never rewrites history, and so that measuring is one grouped query (`directory.performance`).
    """

    __tablename__ = "service_requests"
    __table_args__ = (
        UniqueConstraint("team_id", "external_id", name="uq_service_requests_team_id_external_id"),
        Index("ix_service_requests_team_id_received_at", "team_id", "received_at"),
        # Covers every column `performance` reads, in its grouping order: a window is answered from
        # this index alone, without sorting (the query bounds `week` as well as `received_at`).
        Index("ix_service_requests_tally", "team_id", "week", "service", "received_us",
              "reply_settled_us", "reply_kept", "done_settled_us", "done_kept"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[datetime]
    first_reply_at: Mapped[datetime | None] = mapped_column(default=None)
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)
    service: Mapped[str | None] = mapped_column(String(200), default=None)
    reply_by: Mapped[datetime | None] = mapped_column(default=None)
    done_by: Mapped[datetime | None] = mapped_column(default=None)
    # Each promise's verdict and the instant it became known: the event's, when it came in time;
    # else the promise's own instant, when it was broken. None without a promise. Instants that
    # the measuring query compares are also kept as microseconds since the epoch: integers compare
    # at half the cost of stored date-time text, and keep its covering index narrow.
    reply_kept: Mapped[bool | None] = mapped_column(default=None)
    reply_settled_us: Mapped[int | None] = mapped_column(BigInteger, default=None)
    done_kept: Mapped[bool | None] = mapped_column(default=None)
    done_settled_us: Mapped[int | None] = mapped_column(BigInteger, default=None)
    received_us: Mapped[int] = mapped_column(BigInteger)
    # Monday of the week of `received_at` in the team's time zone then: the weekly trend's key.
    week: Mapped[date]
    revision_number: Mapped[int]
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class SurveyRound(Base):
    """One round of the periodic survey ("rate the teams you worked with this quarter").

    Open while `closed_at` is None; at most one round is open at a time (`directory.surveys`).
    """

    __tablename__ = "survey_rounds"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    opened_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    opened_by: Mapped[str] = mapped_column(String(320))
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    closed_by: Mapped[str | None] = mapped_column(String(320), default=None)

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class SurveyResponse(Base):
    """One person's ratings of one team in one round (1-5 on each agreed parameter); a second
    answer from the same person replaces the first, hence the unique key."""

    __tablename__ = "survey_responses"
    __table_args__ = (UniqueConstraint("round_id", "team_id", "respondent"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("survey_rounds.id", ondelete="CASCADE"), index=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    respondent: Mapped[str] = mapped_column(String(320))
    responsiveness: Mapped[int]
    clarity: Mapped[int]
    helpfulness: Mapped[int]
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)


class Kudos(Base):
    """A thank-you to a team (optionally naming people), shown on its page and in the company feed."""

    __tablename__ = "kudos"

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(String(320), index=True)
    people: Mapped[list[str]] = mapped_column(JSON, default=list)
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    team: Mapped[Team] = relationship()


class RecognitionAudit(Base):
    """Who wrote what in surveys and kudos, and when: one record per write, read by administrators."""

    __tablename__ = "recognition_audit"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(200))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ReviewSetting(Base):
    """A review policy value administrators change on a page (`directory.reviews`): kept in the
    database so that every app server and the `notify` job apply the same number at once."""

    __tablename__ = "review_settings"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_by: Mapped[str] = mapped_column(String(320))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class SentNotification(Base):
    """One e-mail to one owner about one team in one review cycle (`cycle` is the due date, so a
    review starts a new cycle). Its row makes `directory notify` idempotent; a failed send stays
    `failed` and is retried by the next run."""

    __tablename__ = "sent_notifications"
    __table_args__ = (UniqueConstraint("team_id", "kind", "cycle", "recipient"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    cycle: Mapped[str] = mapped_column(String(40))
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)


class LinkCheck(Base):
    """The last answer of one booking or contact URL of a team, from `directory check-links`
    (never from a page view, which must not wait on other servers)."""

    __tablename__ = "link_checks"
    __table_args__ = (UniqueConstraint("team_id", "url"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    place: Mapped[str] = mapped_column(String(300))
    ok: Mapped[bool]
    status: Mapped[int | None] = mapped_column(default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    checked_at: Mapped[datetime] = mapped_column(default=utcnow)


class MailTeamSetting(Base):
    """A team's own mail-responder settings; no row means the defaults from the environment."""

    __tablename__ = "mail_team_settings"

    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True)
    # One sender hears from this team at most once per this many days (RFC 5230's :days).
    period_days: Mapped[int]


class MailSenderMemory(Base):
    """When the responder last answered a sender for a team: in the database, so that every
    responder process and restart honours the once-per-period promise."""

    __tablename__ = "mail_sender_memory"

    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True)
    sender: Mapped[str] = mapped_column(String(320), primary_key=True)
    replied_at: Mapped[datetime] = mapped_column(index=True)


class MailOutbox(Base):
    """One auto-reply, queued when its message was accepted and kept after it was sent, so that a
    relay outage loses nothing and owners can see what was answered on their team's behalf."""

    __tablename__ = "mail_outbox"
    __table_args__ = (
        Index("ix_mail_outbox_due", "status", "next_attempt_at"),
        Index("ix_mail_outbox_team", "team_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    team_address: Mapped[str] = mapped_column(String(320))
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    message_id: Mapped[str] = mapped_column(String(300))
    in_reply_to: Mapped[str | None] = mapped_column(Text, default=None)
    message: Mapped[bytes]
    received_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(10), default="queued")  # queued, sent, failed
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    leased_until: Mapped[datetime | None] = mapped_column(default=None)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)


class MailCounter(Base):
    """A running count of the responder's outcomes (received, answered, failed, suppressed:<reason>),
    shared by every responder process."""

    __tablename__ = "mail_counters"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[int] = mapped_column(default=0)


class Feedback(Base):
    """One person's rating of a team (1-5), perhaps about one request, perhaps with a comment.

    `rater_id` exists for one purpose each: replacing a person's earlier rating of the same request,
    rate limits, and the author's own page. No page or API answer ever shows it to anyone else
    (`directory.feedback` only ever returns aggregates above the floor and nameless comments).
    """

    __tablename__ = "feedback"
    __table_args__ = (
        UniqueConstraint("team_id", "rater_id", "request_id", name="uq_feedback_team_id_rater_id_request_id"),
        Index("ix_feedback_team_id_rated_at", "team_id", "rated_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    rater_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    request_id: Mapped[str | None] = mapped_column(String(200), default=None)
    service: Mapped[str | None] = mapped_column(String(200), default=None)
    rating: Mapped[int]
    comment: Mapped[str | None] = mapped_column(Text, default=None)
    complaint: Mapped[bool] = mapped_column(default=False)
    signed: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    rated_at: Mapped[datetime] = mapped_column(default=utcnow)

    team: Mapped[Team] = relationship()
    follow_up: Mapped[FeedbackFollowUp | None] = relationship(back_populates="feedback", uselist=False,
                                                              cascade="all, delete-orphan")


class FeedbackFollowUp(Base):
    """A concern (a low rating or a complaint) that the team's owners must address:
    open -> acknowledged -> replied -> resolved, overdue past `due_at` while not resolved."""

    __tablename__ = "feedback_follow_ups"

    id: Mapped[int] = mapped_column(primary_key=True)
    feedback_id: Mapped[int] = mapped_column(ForeignKey("feedback.id", ondelete="CASCADE"), unique=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(20), default="open")
    reason: Mapped[str] = mapped_column(String(20))
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None] = mapped_column(default=None)
    replied_at: Mapped[datetime | None] = mapped_column(default=None)
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)
    reply: Mapped[str | None] = mapped_column(Text, default=None)

    feedback: Mapped[Feedback] = relationship(back_populates="follow_up")


class FeedbackAnswer(Base):
    """An owners' public answer, "you said, we did", shown on the team page."""

    __tablename__ = "feedback_answers"

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    said: Mapped[str] = mapped_column(Text)
    did: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class FeedbackAudit(Base):
    """Every feedback write: who did what to which team, for administrators and rate limits.

    Records of ratings name the person and the team but never the rating, the comment or which
    feedback row it was, so the log cannot be joined to what someone said.
    """

    __tablename__ = "feedback_audit"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(320))
    actor_user_id: Mapped[int | None] = mapped_column(default=None, index=True)
    action: Mapped[str] = mapped_column(String(40))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"), default=None)
    subject: Mapped[str] = mapped_column(String(200), default="")


class HolidayCalendar(Base):
    """An organisation holiday calendar (from an uploaded or fetched ICS file) that teams select
    as `hours.holidays.calendar = "org:<slug>"`; its days close them like public holidays.

    `days` is {"YYYY-MM-DD": name}; `version` increments on every change so that caches keyed by
    a team's version can add the calendar's too.
    """

    __tablename__ = "holiday_calendars"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    source_url: Mapped[str | None] = mapped_column(Text, default=None)
    days: Mapped[dict[str, Any]] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

class TeamVector(Base):
    """A team's sentence embedding (`search.semantic`), by the hash of the text embedded and the
    model: a reindex, a restart or another host sharing the database never embeds an unchanged
    team again. Rows are never updated, only added (a changed team has a new hash)."""

    __tablename__ = "team_vectors"

    content_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    vector: Mapped[bytes] = mapped_column(LargeBinary)  # float32 rows of 384, one per chunk of text
    model: Mapped[str] = mapped_column(String(100))


class SearchEvent(Base):
    """One page of search results someone was shown (`directory.search_learning`).

    `searcher` is a keyed hash of a random value kept in the reader's session, never of the account,
    so that choices and rephrasings of one visit can be told apart from other people's. Events are
    deleted, with their choices, once older than the retention window: the keys go with them.
    """

    __tablename__ = "search_events"
    __table_args__ = (
        Index("ix_search_events_searcher_at", "searcher", "at"),
        Index("ix_search_events_query_at", "query", "at"),
        # Deleting an event looks up the events it rephrased (the foreign key's SET NULL): without
        # this index, purging n events scanned the table n times.
        Index("ix_search_events_rephrased_by_id", "rephrased_by_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    query: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    results: Mapped[int]
    page: Mapped[int] = mapped_column(default=1)
    searcher: Mapped[str] = mapped_column(String(64))
    # The next search of the same visit, when it came soon after this one with other words and no choice.
    rephrased_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("search_events.id", ondelete="SET NULL"), default=None)


class SearchChoice(Base):
    """A team someone opened from a results page, at its position in the ranking (1 = first)."""

    __tablename__ = "search_choices"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("search_events.id", ondelete="CASCADE"), index=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    at: Mapped[datetime] = mapped_column(default=utcnow)


class SearchChoiceDay(Base):
    """How many people, new that day, chose a team for a query: what ranking learns from.

    Holds no key and no event, so it outlives the retention window of the raw events; a person is
    counted once per query and team while their choices are still kept.
    """

    __tablename__ = "search_choice_days"

    query: Mapped[str] = mapped_column(String(200), primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True,
                                         index=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    choosers: Mapped[int] = mapped_column(default=0)


class TeamSearchTerm(Base):
    """A word or phrase people searched with that a team's owner (or an administrator) adopted as
    one of the team's search terms: indexed with the team, kept outside its published document."""

    __tablename__ = "team_search_terms"
    __table_args__ = (UniqueConstraint("team_id", "term", name="uq_team_search_terms_team_id_term"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    term: Mapped[str] = mapped_column(String(100))
    adopted_by: Mapped[str] = mapped_column(String(320))
    adopted_at: Mapped[datetime] = mapped_column(default=utcnow)
