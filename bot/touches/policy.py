"""The sending policy, checked when a touch is planned and again when it fires (R-SR1–R-SR10).

Pure functions over a loaded `Context`: nothing here reads the database or the wall clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.settings import Settings
from bot.store.models import Chain, Checkout, Contact, Conversation
from bot.touches import reasons
from flows.loader import FlowSet
from flows.model import Flow, Step
from flows.rules import NO_COMMON_HOUR, Country, Window, window_for

MIN_GAP = timedelta(hours=3)  # touches of one chain at least 3 h apart (R-SR3)
PER_DAY = 2  # at most 2 touches of one chain per local day (R-SR3)
PER_CHAIN = 3  # at most 3 proactive touches per chain (R-SR3)
PAYMENT_PER_DAY = 3  # at most 3 payment reminders per contact per local day (R-SR3)
WHATSAPP_WINDOW = timedelta(hours=24)  # customer-service window (R-SR6)
MANUAL_REVIEW_AFTER = 5  # failed payments before a person takes over (R-FL2)
# An operator holds the chat; a closed one ended that conversation, not later touches (R-SR5).
OPERATOR_HELD = ("waiting_operator", "operator")


@dataclass
class Context:
    """Everything a decision about one touch needs."""

    contact: Contact
    chain: Chain
    flow: Flow
    checkout: Checkout | None
    conversation: Conversation | None
    consents: set[str]  # channels whose open consent covers this flow's purpose (R-SR1)
    chain_sent: list[tuple[datetime, str]] = field(default_factory=list)  # (sent_at, channel)
    payment_sent: list[datetime] = field(default_factory=list)  # contact's payment reminders
    service_sent: list[datetime] = field(default_factory=list)  # contact's service messages


@dataclass(frozen=True)
class Decision:
    action: str  # send | defer | skip | cancel
    rule: str
    at: datetime | None = None
    channel: str | None = None
    template: bool = False  # WhatsApp outside the 24 h window: pre-approved template only
    stop_chain: str | None = None  # stop the chain with this reason


def choose_channel(flow: Flow, ctx: Context) -> str | None:
    """The one channel to use: the first in the flow's preference with consent (R-SR1)."""
    last = ctx.conversation.last_channel if ctx.conversation else None
    for choice in flow.channels:
        channel = last if choice == "last_written" else choice
        if channel and channel in ctx.consents and _reachable(ctx.contact, channel):
            return channel
    return None


def _reachable(contact: Contact, channel: str) -> bool:
    if channel == "whatsapp" and contact.whatsapp_missing_at is not None:
        return False  # WhatsApp said this number has no account (R-SR7)
    return bool(contact.telegram_chat_id if channel == "telegram" else contact.phone)


def window(flows: FlowSet, settings: Settings, contact: Contact) -> Window:
    return window_for(flows.rules, contact.phone, contact.timezone, settings.default_timezone)


def earliest(moment: datetime, ctx: Context, win: Window) -> tuple[datetime | None, str | None]:
    """The first moment ≥ `moment` allowed by quiet hours and the caps, and the rule that
    moved it; no moment (None) when the number's zones share no allowed hour."""
    rule: str | None = None
    recovery = ctx.flow.purpose == "recovery"
    for _ in range(12):  # each constraint only moves forward; a few rounds settle it
        start = moment
        allowed = win.next_allowed(moment)
        if allowed is None:
            return None, NO_COMMON_HOUR
        if allowed > moment:
            moment, rule = allowed, rule or win.rule
        if recovery and ctx.chain_sent:
            last = max(at for at, _ in ctx.chain_sent)
            if moment < last + MIN_GAP:
                moment, rule = last + MIN_GAP, rule or reasons.HOURS_BETWEEN_TOUCHES
                continue
            day = win.local_day(moment)
            # Service messages run beside the chain but count toward its day (R-SR4).
            sent = [at for at, _ in ctx.chain_sent] + ctx.service_sent
            if sum(1 for at in sent if win.local_day(at) == day) >= PER_DAY:
                moment, rule = _next_day(win, moment), rule or reasons.TOUCHES_A_DAY
                continue
        if ctx.flow.is_payment:
            day = win.local_day(moment)
            if sum(1 for at in ctx.payment_sent if win.local_day(at) == day) >= PAYMENT_PER_DAY:
                moment = _next_day(win, moment)
                rule = rule or reasons.PAYMENT_REMINDERS_A_DAY
                continue
        if moment == start:
            break
    return moment, rule


def _next_day(win: Window, moment: datetime) -> datetime:
    """The next local day's start; past the search horizon when no hour is ever allowed
    (the next round's `next_allowed` then says so)."""
    return win.next_day_start(moment) or moment + timedelta(days=1)


def _country_block(country: Country | None, channel: str, ctx: Context, now: datetime) -> str:
    if country is None or ctx.flow.purpose != "recovery" or channel != "sms":
        return ""
    if country.recovery_sms_per_chain is not None:
        sms = sum(1 for _, used in ctx.chain_sent if used == "sms")
        if sms >= country.recovery_sms_per_chain:
            return reasons.one_recovery_sms(country.name)
    within = country.recovery_sms_within  # counted from the abandonment (last activity)
    if within is not None and now > ctx.chain.anchor_at + within:
        return reasons.sms_only_within(country.name)
    return ""


def outside_whatsapp_window(ctx: Context, now: datetime) -> bool:
    last = ctx.conversation.last_inbound_at if ctx.conversation else None
    return last is None or now - last > WHATSAPP_WINDOW


def decide(ctx: Context, step: Step, now: datetime, flows: FlowSet, settings: Settings) -> Decision:
    """Send now, defer, skip or cancel this touch — and the rule that says so."""
    chain, flow = ctx.chain, ctx.flow
    if chain.status != "active":
        return Decision("cancel", reasons.chain_not_active(chain.status))
    if ctx.conversation is not None and ctx.conversation.state in OPERATOR_HELD:
        held = reasons.conversation_held(ctx.conversation.state)
        return Decision("cancel", held, stop_chain=reasons.HANDOFF)
    checkout = ctx.checkout
    if flow.purpose == "recovery" and checkout is not None and checkout.status == "paid":
        return Decision("cancel", reasons.STOP_ON_PAID, stop_chain=reasons.PAID)
    if flow.is_payment and checkout is not None and checkout.failed_payments >= MANUAL_REVIEW_AFTER:
        return Decision(
            "cancel", reasons.MANUAL_REVIEW_AFTER_FAILURES, stop_chain=reasons.MANUAL_REVIEW
        )
    channel = choose_channel(flow, ctx)
    if channel is None:
        return Decision("skip", reasons.NO_CONSENT, stop_chain=reasons.NO_CONSENT_GIVEN)
    if flow.purpose == "recovery" and len(ctx.chain_sent) >= PER_CHAIN:
        return Decision("skip", reasons.TOUCHES_PER_CHAIN, stop_chain=reasons.CAP_REACHED)
    country, _ = flows.rules.country_for(ctx.contact.phone)
    blocked = _country_block(country, channel, ctx, now)
    if blocked:
        return Decision("skip", blocked[:64], stop_chain=reasons.COUNTRY_RULE)
    template = channel == "whatsapp" and outside_whatsapp_window(ctx, now)
    if (
        template
        and flow.purpose == "recovery"
        and country
        and not country.whatsapp_marketing_templates
    ):
        blocked = reasons.no_whatsapp_marketing(country.name)
        return Decision("skip", blocked, stop_chain=reasons.COUNTRY_RULE)
    at, rule = earliest(now, ctx, window(flows, settings, ctx.contact))
    if at is None:
        return Decision("skip", NO_COMMON_HOUR, stop_chain=reasons.NO_ALLOWED_HOUR)
    if at > now:
        return Decision("defer", rule or reasons.QUIET_HOURS, at=at, channel=channel)
    allowed = reasons.consent_for(channel) + (reasons.WITH_TEMPLATE if template else "")
    return Decision("send", allowed, channel=channel, template=template)
