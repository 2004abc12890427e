"""Prometheus metrics, in one registry per application so tests stay independent."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    """Every counter and histogram the service exports."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.events_total = Counter(
            "nudge_events_total", "Shop events by result", ["status"], registry=r
        )
        self.ingest_seconds = Histogram(
            "nudge_ingest_seconds",
            "Time to apply one events request",
            registry=r,
            buckets=_LATENCY_BUCKETS,
        )
        self.touches_total = Counter(
            "nudge_touches_total", "Touch decisions", ["flow", "step", "outcome"], registry=r
        )
        self.messages_total = Counter(
            "nudge_messages_total",
            "Messages by direction and channel",
            ["direction", "channel"],
            registry=r,
        )
        self.webhook_ack_seconds = Histogram(
            "nudge_webhook_ack_seconds",
            "Provider webhook acknowledgement time",
            ["channel"],
            registry=r,
            buckets=_LATENCY_BUCKETS,
        )
        self.nlu_seconds = Histogram(
            "nudge_nlu_seconds", "NLU classification time", registry=r, buckets=_LATENCY_BUCKETS
        )
        self.send_seconds = Histogram(
            "nudge_send_seconds",
            "Provider send time",
            ["channel"],
            registry=r,
            buckets=_LATENCY_BUCKETS,
        )
        self.handoffs_total = Counter(
            "nudge_handoffs_total", "Chats handed to operators", ["reason"], registry=r
        )
        self.reply_seconds = Histogram(
            "nudge_reply_seconds",
            "Inbound shopper message to the bot's replies handed to the provider",
            registry=r,
            buckets=_LATENCY_BUCKETS,
        )
        self.recovered_total = Counter(
            "nudge_recovered_total", "Chains ending in a paid order", ["flow"], registry=r
        )
        self.recovered_revenue_total = Counter(
            "nudge_recovered_revenue_total",
            "Revenue of recovered orders, in the checkout's currency",
            ["currency"],
            registry=r,
        )
        self.integration_total = Counter(
            "nudge_integration_events_total",
            "Shop platform payloads by platform and outcome (accepted, duplicate, ignored, ...)",
            ["platform", "outcome"],
            registry=r,
        )
        self.inbox_dead_letters = Gauge(
            "nudge_inbox_dead_letters",
            "Inbound webhooks given up after their last attempt, awaiting an operator",
            registry=r,
        )
        self.inbox_failures_total = Counter(
            "nudge_inbox_failures_total",
            "Failed processings of inbound webhooks: retried later or a dead letter",
            ["outcome"],
            registry=r,
        )
        self.report_seconds = Histogram(
            "nudge_report_seconds",
            "Time to build a report",
            ["report"],
            registry=r,
            buckets=_LATENCY_BUCKETS,
        )


async def get_metrics(request: web.Request) -> web.Response:
    from bot.app_keys import METRICS

    body = generate_latest(request.app[METRICS].registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
