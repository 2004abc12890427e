"""`nudge nlu eval --data FILE [--json] [--fine]`: scores the live path on a labelled TSV.

Gold labels may be routing intents or fine intents (counted under their routing intent); a
`fine` column names the fine intent of a routing label. `--fine` adds per-fine-intent figures
and the misunderstood rate: the replies the dialogue, routed by the designer files as live
replies are, would answer with its clarifying question.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from bot.cli_commands import REGISTRARS, Commands
from bot.dialogue.routes import asks_to_clarify
from bot.nlu_service import ExternalModel
from bot.settings import Settings
from flows.replies import ReplyBook, load_reply_book
from nlu.classify import LiveClassifier, build_classifier
from nlu.dataset import DataError, Example, read_tsv
from nlu.intents import DEFAULT_FINE, FINE_INTENTS, fine_intents, fine_of, known_intents, to_routing
from nlu.sentence_encoder import served_encoder
from nlu.supervisor import RasaSupervisor
from nlu.types import ROUTING_INTENTS, Classification


def score(
    gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str] = ROUTING_INTENTS
) -> dict[str, Any]:
    """Accuracy, macro-F1, per-intent P/R/F1/support and the confusion matrix."""
    labels = list(labels)
    confusion = {g: {p: 0 for p in labels} for g in labels}
    for g, p in zip(gold, predicted, strict=True):
        confusion[g if g in confusion else "other"][p if p in labels else "other"] += 1
    per_intent: dict[str, dict[str, float | int]] = {}
    for label in labels:
        tp = confusion[label][label]
        predicted_n = sum(confusion[g][label] for g in labels)
        support = sum(confusion[label].values())
        precision = tp / predicted_n if predicted_n else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_intent[label] = {
            "precision": round(precision, 4),
            "recall": round(recall, 4),
            "f1": round(f1, 4),
            "support": support,
        }
    total = len(gold)
    correct = sum(confusion[label][label] for label in labels)
    # like scikit-learn: the mean over intents that occur in the gold labels or predictions
    present = [
        label
        for label in labels
        if per_intent[label]["support"] or sum(confusion[g][label] for g in labels)
    ]
    macro = sum(float(per_intent[lb]["f1"]) for lb in present) / len(present) if present else 0.0
    return {
        "accuracy": round(correct / total, 4) if total else 0.0,
        "macro_f1": round(macro, 4),
        "per_intent": per_intent,
        "confusion": confusion,
    }


def check_intents(rows: Sequence[Example]) -> None:
    for row in rows:
        if row.intent not in known_intents():
            raise DataError(
                f"line {row.line}: intent {row.intent!r} is not one of "
                f"{', '.join(ROUTING_INTENTS)} or a fine intent ({', '.join(fine_intents())})"
            )
        if row.fine and FINE_INTENTS.get(row.fine) != to_routing(row.intent):
            raise DataError(
                f"line {row.line}: fine intent {row.fine!r} is not a fine intent of {row.intent!r}"
            )


def gold_routing(row: Example) -> str:
    return to_routing(row.intent)


def gold_fine(row: Example) -> str:
    """The row's fine intent: its `fine` column, a fine gold label, else the class's default."""
    if row.fine:
        return row.fine
    if row.intent in FINE_INTENTS:
        return row.intent
    return DEFAULT_FINE[to_routing(row.intent)]


async def classify_all(classifier: LiveClassifier, texts: Sequence[str]) -> list[Classification]:
    return [await classifier.classify(text) for text in texts]


async def predict(classifier: LiveClassifier, texts: Sequence[str]) -> list[str]:
    return [result.intent for result in await classify_all(classifier, texts)]


def misunderstood_rate(results: Sequence[Classification], book: ReplyBook) -> float:
    """The share of replies the dialogue answers with a clarifying question (R-RP8); one a
    hand-off rule or a fine intent's flow answers is understood."""
    if not results:
        return 0.0
    unclear = sum(1 for r in results if asks_to_clarify(book, r))
    return round(unclear / len(results), 4)


def fine_report(
    rows: Sequence[Example], results: Sequence[Classification], book: ReplyBook
) -> dict[str, Any]:
    """The routing report plus `fine` (per fine intent) and `misunderstood`."""
    report = score([gold_routing(r) for r in rows], [r.intent for r in results])
    report["fine"] = score(
        [gold_fine(r) for r in rows], [fine_of(r) for r in results], fine_intents()
    )
    report["misunderstood"] = misunderstood_rate(results, book)
    return report


def designer_book(root: Path) -> ReplyBook:
    """The reply flows and hand-off rules the dialogue routes by (flows/replies, domain.yml)."""
    book, problems = load_reply_book(root)
    if book is None:
        raise DataError(f"the designer files have problems: {'; '.join(problems)}")
    return book


@asynccontextmanager
async def live_classifier(
    settings: Settings, port: int | None = None
) -> AsyncIterator[LiveClassifier]:
    """The classifier live replies use: NUDGE_NLU_URL if set, else a Rasa server started here."""
    if settings.nlu_url:
        classifier = build_classifier(settings.nlu_url, settings.nlu_token, settings.nlu_threshold)
        # the scorer fitted with the model that server serves, if models/ has it
        await ExternalModel(classifier, settings.root).asked_once(answer_within=None)
        try:
            yield classifier
        finally:
            await classifier.aclose()
        return
    supervisor = RasaSupervisor(
        settings.root, port or free_port(), log_path=settings.var_dir / "rasa-eval.log"
    )
    reason = supervisor.can_start()
    if reason:
        raise DataError(f"cannot start the NLU server: {reason}")
    await supervisor.start()
    try:
        try:
            await asyncio.wait_for(supervisor.ready.wait(), supervisor.ready_timeout)
        except TimeoutError as exc:
            raise DataError(
                f"the NLU server did not become ready; see {supervisor.log_path}"
            ) from exc
        classifier = build_classifier(
            supervisor.url,
            supervisor.token,
            settings.nlu_threshold,
            timeout=10.0,
            encoder=served_encoder(settings.root),
        )
        try:
            yield classifier
        finally:
            await classifier.aclose()
    finally:
        await supervisor.stop()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def format_report(report: dict[str, Any], title: str = "") -> str:
    lines = [title] if title else []
    width = max(10, *(len(name) + 1 for name in report["per_intent"]))
    lines.append(f"{'intent':<{width}} {'precision':>9} {'recall':>7} {'f1':>6} {'support':>8}")
    for name, row in report["per_intent"].items():
        lines.append(
            f"{name:<{width}} {row['precision']:>9.3f} {row['recall']:>7.3f} {row['f1']:>6.3f} "
            f"{row['support']:>8}"
        )
    lines.append(f"accuracy {report['accuracy']:.3f}   macro-F1 {report['macro_f1']:.3f}")
    labels = list(report["confusion"])
    lines.append("confusion (rows: gold, columns: predicted)")
    lines.append(" " * width + "".join(f"{p[:8]:>9}" for p in labels))
    for gold in labels:
        lines.append(
            f"{gold:<{width}}" + "".join(f"{report['confusion'][gold][p]:>9}" for p in labels)
        )
    if "fine" in report:
        lines.append("")
        lines.append(format_report(report["fine"], "fine intents"))
        lines.append(f"misunderstood (clarifying question): {report['misunderstood']:.1%}")
    return "\n".join(lines)


async def _evaluate(settings: Settings, path: Path, fine: bool) -> dict[str, Any]:
    rows = read_tsv(path)
    try:
        check_intents(rows)
    except DataError as exc:
        raise DataError(f"{path}: {exc}") from exc
    book = designer_book(settings.root) if fine else None
    async with live_classifier(settings) as classifier:
        results = await classify_all(classifier, [row.text for row in rows])
    if book is not None:
        return fine_report(rows, results, book)
    return score([gold_routing(row) for row in rows], [r.intent for r in results])


def _cmd_eval(settings: Settings, args: argparse.Namespace) -> int:
    try:
        report = asyncio.run(_evaluate(settings, Path(args.data), args.fine))
    except DataError as exc:
        print(f"nudge nlu eval: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        print(format_report(report, f"NLU evaluation on {args.data}"))
    return 0


def _register(commands: Commands) -> None:
    nlu = commands.add_parser("nlu", help="NLU tools")
    nlu_commands = nlu.add_subparsers(dest="nlu_command", required=True)
    evaluate = nlu_commands.add_parser("eval", help="score the live path on a labelled TSV file")
    evaluate.add_argument(
        "--data", required=True, help="TSV with a header: text, intent (optionally fine)"
    )
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    evaluate.add_argument(
        "--fine", action="store_true", help="add per-fine-intent figures and the misunderstood rate"
    )
    evaluate.set_defaults(handler=_cmd_eval)


REGISTRARS.append(_register)
