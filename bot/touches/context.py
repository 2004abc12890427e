"""Loading what the policy needs, for one touch or a whole claimed batch (few queries)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

from sqlalchemy import Table, and_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from bot.store.bulk import among
from bot.store.fast_rows import read_only
from bot.store.models import Base, Chain, Checkout, Consent, Contact, Conversation, Touch
from bot.touches.policy import Context
from flows.loader import FlowSet

SENT_STATUSES = ("sent", "sending", "unknown")

M = TypeVar("M", bound=Base)


def from_row(model: type[M], row: Mapping[Any, Any]) -> M:
    """A transient instance filled from a Core row, for reading only: it is in no session,
    so nothing set on it is written."""
    return read_only(model, row)


def change_in_memory(instance: Base, **values: Any) -> None:
    """Change what a loaded instance reads, as if it had been loaded so: no session ever
    writes these values (the caller writes what it changes explicitly)."""
    for key, value in values.items():
        set_committed_value(instance, key, value)


async def rows_of(session: AsyncSession, model: type[M], where: Any) -> list[M]:
    """`from_row` objects for the rows of `model`'s table matching `where`."""
    table = cast(Table, model.__table__)
    result = await session.execute(select(table).where(where))
    names = list(result.keys())
    return [from_row(model, dict(zip(names, row, strict=True))) for row in result]


def payment_flows(flows: FlowSet) -> list[str]:
    return [f.flow for f in flows.flows.values() if f.is_payment]


def recovery_flows(flows: FlowSet) -> list[str]:
    return [f.flow for f in flows.flows.values() if f.purpose == "recovery"]


_CONTACT, _CONVERSATION, _CONSENT = (
    cast(Table, m.__table__) for m in (Contact, Conversation, Consent)
)
# Contacts with their conversation and open consents in one query, built once; its rows
# are read by position: the contact's columns, the conversation's, the consent's channel.
_CONTACT_NAMES = [c.name for c in _CONTACT.c]
_CONVERSATION_NAMES = [c.name for c in _CONVERSATION.c]
_AFTER_CONTACT = len(_CONTACT_NAMES)
_CONSENT_AT = _AFTER_CONTACT + len(_CONVERSATION_NAMES)
_CONTACT_ID = _CONTACT_NAMES.index("id")
_CONVERSATION_ID = _AFTER_CONTACT + _CONVERSATION_NAMES.index("id")
_PEOPLE = select(
    *(c.label(f"contact_{c.name}") for c in _CONTACT.c),
    *(c.label(f"conversation_{c.name}") for c in _CONVERSATION.c),
    _CONSENT.c.channel.label("consent_channel"),
    _CONSENT.c.purpose.label("consent_purpose"),
).select_from(
    _CONTACT.outerjoin(_CONVERSATION, _CONVERSATION.c.contact_id == _CONTACT.c.id).outerjoin(
        _CONSENT,
        and_(_CONSENT.c.contact_id == _CONTACT.c.id, _CONSENT.c.revoked_at.is_(None)),
    )
)


# What a touch of each flow purpose may be sent with: recovery (marketing) touches need a
# recovery consent; service messages (order status) a service or a recovery one (R-SR1).
ALLOWED_BY = {"recovery": frozenset({"recovery"}), "service": frozenset({"service", "recovery"})}
Consents = dict[int, set[tuple[str, str]]]  # contact id → open (channel, purpose) pairs


def channels_for(consents: set[tuple[str, str]], purpose: str) -> set[str]:
    """The channels with an open consent that covers a touch of this flow purpose."""
    allowed = ALLOWED_BY.get(purpose, frozenset())
    return {channel for channel, given in consents if given in allowed}


async def _people(
    session: AsyncSession, contact_ids: Iterable[int], consents: Consents
) -> tuple[dict[int, Contact], dict[int, Conversation]]:
    """`from_row` contacts and conversations by contact id; open consents into `consents`."""
    contacts: dict[int, Contact] = {}
    conversations: dict[int, Conversation] = {}
    # An IN list, not `= ANY(array)`: a generic plan for this join, made on statistics from
    # before a burst of new contacts, can scan every consent per call.
    result = await session.execute(_PEOPLE.where(_CONTACT.c.id.in_(list(contact_ids))))
    for row in result:
        contact_id = row[_CONTACT_ID]
        if contact_id not in contacts:
            contacts[contact_id] = from_row(
                Contact, dict(zip(_CONTACT_NAMES, row[:_AFTER_CONTACT], strict=True))
            )
            if row[_CONVERSATION_ID] is not None:
                values = row[_AFTER_CONTACT:_CONSENT_AT]
                conversations[contact_id] = from_row(
                    Conversation, dict(zip(_CONVERSATION_NAMES, values, strict=True))
                )
        if row[_CONSENT_AT] is not None:
            consents[contact_id].add((row[_CONSENT_AT], row[_CONSENT_AT + 1]))
    return contacts, conversations


async def load_contexts(
    session: AsyncSession,
    chains: Iterable[Chain],
    flows: FlowSet,
    now: datetime,
    *,
    checkouts: Mapping[int, Checkout] | None = None,
    new_chains: bool = False,
    read_only: bool = False,
) -> dict[int, Context]:
    """A Context per chain id, loaded with one query per table.

    `checkouts` the caller has already loaded are not read again; `new_chains`: the chains
    were created in this transaction, so none of them has a sent touch to look up;
    `read_only`: contacts, checkouts and conversations are `from_row` objects (planning
    and firing only read them), not session objects.
    """
    by_id = {c.id: c for c in chains if c.flow in flows.flows}
    if not by_id:
        return {}
    contact_ids = {c.contact_id for c in by_id.values()}
    known = checkouts or {}
    missing = {
        c.checkout_id
        for c in by_id.values()
        if c.checkout_id is not None and c.checkout_id not in known
    }

    loaded = dict(known)
    consents: Consents = defaultdict(set)
    if read_only:
        contacts, conversations = await _people(session, contact_ids, consents)
        if missing:
            for checkout in await rows_of(session, Checkout, among(session, Checkout.id, missing)):
                loaded[checkout.id] = checkout
    else:
        contacts = {
            c.id: c
            for c in await session.scalars(select(Contact).where(Contact.id.in_(contact_ids)))
        }
        if missing:
            for checkout in await session.scalars(select(Checkout).where(Checkout.id.in_(missing))):
                loaded[checkout.id] = checkout
        conversations = {
            c.contact_id: c
            for c in await session.scalars(
                select(Conversation).where(Conversation.contact_id.in_(contact_ids))
            )
        }
        rows = await session.execute(
            select(Consent.contact_id, Consent.channel, Consent.purpose).where(
                Consent.contact_id.in_(contact_ids), Consent.revoked_at.is_(None)
            )
        )
        for contact_id, channel, purpose in rows:
            consents[contact_id].add((channel, purpose))
    chain_sent: dict[int, list[tuple[datetime, str]]] = defaultdict(list)
    if not new_chains:
        # status checked here: in SQL it makes PostgreSQL scan ix_touches_due (every sent touch)
        rows = await session.execute(
            select(Touch.chain_id, Touch.status, Touch.sent_at, Touch.channel).where(
                Touch.chain_id.in_(by_id)
            )
        )
        for chain_id, status, sent_at, channel in rows:
            if status in SENT_STATUSES:
                chain_sent[chain_id].append((sent_at or now, channel or ""))
    names = payment_flows(flows)
    payers = {c.contact_id for c in by_id.values() if c.flow in names}
    payment_sent = await _sent_by_contact(session, payers, names, now)
    recovering = {c.contact_id for c in by_id.values() if c.flow in recovery_flows(flows)}
    services = [f.flow for f in flows.flows.values() if f.purpose == "service"]
    service_sent = await _sent_by_contact(session, recovering, services, now)
    result: dict[int, Context] = {}
    for chain in by_id.values():
        contact = contacts.get(chain.contact_id)
        if contact is None:
            continue
        flow = flows.flows[chain.flow]
        result[chain.id] = Context(
            contact=contact,
            chain=chain,
            flow=flow,
            checkout=loaded.get(chain.checkout_id) if chain.checkout_id else None,
            conversation=conversations.get(chain.contact_id),
            consents=channels_for(consents.get(chain.contact_id, set()), flow.purpose),
            chain_sent=chain_sent.get(chain.id, []),
            payment_sent=payment_sent.get(chain.contact_id, []),
            service_sent=service_sent.get(chain.contact_id, []),
        )
    return result


async def _sent_by_contact(
    session: AsyncSession, contact_ids: set[int], flow_names: list[str], now: datetime
) -> dict[int, list[datetime]]:
    """When each contact's touches of these flows went out over the last two days."""
    sent: dict[int, list[datetime]] = defaultdict(list)
    if not contact_ids or not flow_names:
        return sent
    rows = await session.execute(  # on ix_touches_contact_sent
        select(Touch.contact_id, Touch.sent_at).where(
            Touch.contact_id.in_(contact_ids),
            Touch.sent_at >= now - timedelta(days=2),
            Touch.flow.in_(flow_names),
            Touch.status.in_(SENT_STATUSES),
        )
    )
    for contact_id, sent_at in rows:
        sent[contact_id].append(sent_at)
    return sent


async def load_context(
    session: AsyncSession, chain: Chain, flows: FlowSet, now: datetime
) -> Context | None:
    return (await load_contexts(session, [chain], flows, now)).get(chain.id)
