"""`make bench-nlu`: classification latency through the live path (rules, Rasa over HTTP and
the sentence encoders: English, and multilingual for every language).

Free text is timed side by side with its baselines: English with both encoders (the shipped
path), with the English one alone and with Rasa's reading alone; ru/pl/zh with the
multilingual encoder (the shipped path) and with Rasa's reading alone.

Uses NUDGE_NLU_URL when set, else starts the Rasa server from models/ on a free loopback
port. Sequential requests (one shopper message at a time), bounded by BENCH_SECONDS
(default 20 s) or BENCH_REQUESTS (default 400) per phase, whichever comes first.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections.abc import Sequence

from bot.settings import load_settings
from nlu.classify import LiveClassifier
from nlu.dataset import LANGUAGES, read_tsv
from nlu.evaluate import live_classifier
from nlu.sentence_encoder import EncoderScorer

SECONDS = float(os.environ.get("BENCH_SECONDS", "20"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "400"))
RULE_MESSAGES = ["STOP", "стоп пожалуйста", "1", "2️⃣", "да", "nie", "退订", "UNSUBSCRIBE!!"]


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


async def _phase(
    classifier: LiveClassifier, messages: Sequence[str]
) -> tuple[list[float], dict[str, int]]:
    timings: list[float] = []
    sources: dict[str, int] = {}
    deadline = time.perf_counter() + SECONDS
    index = 0
    while len(timings) < REQUESTS and time.perf_counter() < deadline:
        text = messages[index % len(messages)]
        index += 1
        started = time.perf_counter()
        result = await classifier.classify(text, {"1": "pay_link", "2": "delivery"})
        timings.append(time.perf_counter() - started)
        sources[result.source] = sources.get(result.source, 0) + 1
    return timings, sources


async def main() -> None:
    settings = load_settings()
    root = settings.root
    free_text = [
        row.text for lang in LANGUAGES for row in read_tsv(root / "nlu" / "tests" / f"{lang}.tsv")
    ]
    print(
        "starting the NLU server …" if not settings.nlu_url else f"using {settings.nlu_url}",
        flush=True,
    )
    english = [row.text for row in read_tsv(root / "nlu" / "tests" / "en.tsv")]
    others = [
        row.text
        for lang in ("ru", "pl", "zh")
        for row in read_tsv(root / "nlu" / "tests" / f"{lang}.tsv")
    ]
    async with live_classifier(settings) as classifier:
        for text in free_text[:20] + english[:5]:  # warm-up: TF's graph, torch and the encoder
            await classifier.classify(text)
        encoder = classifier.encoder
        if encoder is None:
            raise SystemExit("the model has no sentence encoder beside it: run `nudge train`")
        english_only = EncoderScorer(encoder.head, encoder.language_id)
        phases = {
            "rules only": (RULE_MESSAGES, encoder),
            "free text (all)": (free_text, encoder),
            "mixed 1:1": (
                [m for pair in zip(RULE_MESSAGES * 40, free_text, strict=False) for m in pair],
                encoder,
            ),
            "en, both encoders": (english, encoder),
            "en, English encoder": (english, english_only),
            "en, Rasa alone": (english, None),
            "ru/pl/zh, multilingual": (others, encoder),
            "ru/pl/zh, Rasa alone": (others, None),
        }
        print(f"\n{'phase':<24} {'n':>5} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8}  sources")
        for name, (messages, phase_encoder) in phases.items():
            classifier.encoder = phase_encoder
            timings, sources = await _phase(classifier, messages)
            ms = [t * 1000 for t in timings]
            p50, p99 = _percentile(ms, 0.5), _percentile(ms, 0.99)
            mean = statistics.fmean(ms)
            print(f"{name:<24} {len(ms):>5} {p50:>8.2f} {p99:>8.2f} {mean:>8.2f}  {sources}")


if __name__ == "__main__":
    asyncio.run(main())
