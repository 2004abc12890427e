"""Loading what the policy needs, for one touch or a whole claimed batch (few queries)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.models import Base, Chain, Checkout, Consent, Contact, Conversation, Touch
from bot.touches.policy import Context
from flows.loader import FlowSet
from flows.model import Flow

M = TypeVar("M", bound=Base)


def from_row(model: type[M], row: Mapping[Any, Any]) -> M:
    """A transient instance filled from a Core row, for reading only: it is in no session,
    so nothing set on it is written (about 8x cheaper than loading it through the ORM)."""
    instance = cast(M, model.__mapper__.class_manager.new_instance())
    instance.__dict__.update(row)
    return instance


async def rows_of(session: AsyncSession, model: type[M], where: Any) -> list[M]:
    """`from_row` objects for the rows of `model`'s table matching `where`."""
    table = cast(Table, model.__table__)
    result = await session.execute(select(table).where(where))
    return [from_row(model, row) for row in result.mappings()]


def payment_flows(flows: FlowSet) -> list[str]:
    return [f.flow for f in flows.flows.values() if f.is_payment]


def recovery_flows(flows: FlowSet) -> list[str]:
    return [f.flow for f in flows.flows.values() if f.purpose == "recovery"]


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
    only reads them), not session objects.
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

    async def load(model: type[M], where: Any) -> Iterable[M]:
        if read_only:
            return await rows_of(session, model, where)
        return await session.scalars(select(model).where(where))

    contacts = {c.id: c for c in await load(Contact, Contact.id.in_(contact_ids))}
    loaded = dict(known)
    if missing:
        for checkout in await load(Checkout, Checkout.id.in_(missing)):
            loaded[checkout.id] = checkout
    conversations = {
        c.contact_id: c for c in await load(Conversation, Conversation.contact_id.in_(contact_ids))
    }
    consents: dict[int, set[str]] = defaultdict(set)
    rows = await session.execute(
        select(Consent.contact_id, Consent.channel).where(
            Consent.contact_id.in_(contact_ids), Consent.revoked_at.is_(None)
        )
    )
    for contact_id, channel in rows:
        consents[contact_id].add(channel)
    chain_sent: dict[int, list[tuple[datetime, str]]] = defaultdict(list)
    if not new_chains:
        rows = await session.execute(
            select(Touch.chain_id, Touch.sent_at, Touch.channel).where(
                Touch.chain_id.in_(by_id), Touch.status.in_(("sent", "sending", "unknown"))
            )
        )
        for chain_id, sent_at, channel in rows:
            chain_sent[chain_id].append((sent_at or now, channel or ""))
    payment_sent: dict[int, list[datetime]] = defaultdict(list)
    names = payment_flows(flows)
    payers = {c.contact_id for c in by_id.values() if c.flow in names}
    if payers:  # through chains: touches are indexed by chain, not by contact
        rows = await session.execute(
            select(Chain.contact_id, Touch.sent_at)
            .join(Touch, Touch.chain_id == Chain.id)
            .where(
                Chain.contact_id.in_(payers),
                Chain.flow.in_(names),
                Touch.status.in_(("sent", "sending", "unknown")),
                Touch.sent_at >= now - timedelta(days=2),
            )
        )
        for contact_id, sent_at in rows:
            payment_sent[contact_id].append(sent_at)
    result: dict[int, Context] = {}
    for chain in by_id.values():
        contact = contacts.get(chain.contact_id)
        if contact is None:
            continue
        result[chain.id] = Context(
            contact=contact,
            chain=chain,
            flow=flows.flows[chain.flow],
            checkout=loaded.get(chain.checkout_id) if chain.checkout_id else None,
            conversation=conversations.get(chain.contact_id),
            consents=consents.get(chain.contact_id, set()),
            chain_sent=chain_sent.get(chain.id, []),
            payment_sent=payment_sent.get(chain.contact_id, []),
        )
    return result


async def load_context(
    session: AsyncSession, chain: Chain, flows: FlowSet, now: datetime
) -> Context | None:
    return (await load_contexts(session, [chain], flows, now)).get(chain.id)


def flow_of(flows: FlowSet, chain: Chain) -> Flow | None:
    return flows.flows.get(chain.flow)
