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
        self.events_total = self._counter("nudge_events_total", "Shop events by result", "status")
        self.ingest_seconds = self._latency(
            "nudge_ingest_seconds", "Time to apply one events request"
        )
        self.touches_total = self._counter(
            "nudge_touches_total", "Touch decisions", "flow", "step", "outcome"
        )
        self.messages_total = self._counter(
            "nudge_messages_total", "Messages by direction and channel", "direction", "channel"
        )
        self.webhook_ack_seconds = self._latency(
            "nudge_webhook_ack_seconds", "Provider webhook acknowledgement time", "channel"
        )
        self.nlu_seconds = self._latency("nudge_nlu_seconds", "NLU classification time")
        self.send_seconds = self._latency("nudge_send_seconds", "Provider send time", "channel")
        self.handoffs_total = self._counter(
            "nudge_handoffs_total", "Chats handed to operators", "reason"
        )
        self.reply_seconds = self._latency(
            "nudge_reply_seconds",
            "Inbound shopper message to the bot's replies handed to the provider",
        )
        self.recovered_total = self._counter(
            "nudge_recovered_total", "Chains ending in a paid order", "flow"
        )
        self.recovered_revenue_total = self._counter(
            "nudge_recovered_revenue_total",
            "Revenue of recovered orders, in the checkout's currency",
            "currency",
        )
        self.integration_total = self._counter(
            "nudge_integration_events_total",
            "Shop platform payloads by platform and outcome (accepted, duplicate, ignored, ...)",
            "platform",
            "outcome",
        )
        self.inbox_dead_letters = self._gauge(
            "nudge_inbox_dead_letters",
            "Inbound webhooks given up after their last attempt, awaiting an operator",
        )
        self.inbox_failures_total = self._counter(
            "nudge_inbox_failures_total",
            "Failed processings of inbound webhooks: retried later or a dead letter",
            "outcome",
        )
        self.report_seconds = self._latency(
            "nudge_report_seconds", "Time to build a report", "report"
        )

    def _counter(self, name: str, documentation: str, *labels: str) -> Counter:
        return Counter(name, documentation, labels, registry=self.registry)

    def _gauge(self, name: str, documentation: str, *labels: str) -> Gauge:
        return Gauge(name, documentation, labels, registry=self.registry)

    def _latency(self, name: str, documentation: str, *labels: str) -> Histogram:
        """A histogram of seconds, in the buckets every latency shares."""
        return Histogram(
            name, documentation, labels, registry=self.registry, buckets=_LATENCY_BUCKETS
        )


async def get_metrics(request: web.Request) -> web.Response:
    from bot.app_keys import METRICS

    body = generate_latest(request.app[METRICS].registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
