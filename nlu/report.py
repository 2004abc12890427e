"""`make nlu-report`: the live path vs two baselines, per language and per fine intent.

Rows: nlu/heldout12/*.tsv (the newest looked-at held-out set) when present, else nlu/tests.
`--set NAME` runs the same report on any row set of nlu.dataset.ROW_SETS that exists (a dev
set written for tuning is optimistic); the dev sets and held-out sets before heldout4 were
folded into the training data by the twenty-second cut, so they are gone."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.settings import PROJECT_ROOT, load_settings
from flows.replies import ReplyBook
from nlu.baselines import KeywordMatcher, TfidfLogReg
from nlu.dataset import (
    LANGUAGES,
    ROW_SETS,
    SEALED_SETS,
    Example,
    all_training_examples,
    read_tsv,
)
from nlu.evaluate import (
    check_intents,
    classify_all,
    designer_book,
    format_report,
    gold_fine,
    gold_routing,
    live_classifier,
    misunderstood_rate,
    score,
)
from nlu.intents import fine_intents, fine_of, to_routing
from nlu.types import Classification

TARGET_MACRO = 0.97
TARGET_LANGUAGE = 0.95
TARGET_OPT_OUT_RECALL = 0.99
TARGET_OPT_OUT_PRECISION = 0.97
TARGET_MISUNDERSTOOD = 0.05
SYSTEMS = ("shipped", "keyword", "tfidf-lr")

# per system and language: one classification per row
Predictions = dict[str, list[Classification]]


def default_set(root: Path) -> str:
    """The newest looked-at held-out set that exists: nlu/heldout12 (then the older ones, where a
    checkout still has them), else nlu/tests."""
    for name in (*reversed(SEALED_SETS), "heldout"):
        if (root / "nlu" / name).is_dir():
            return name
    return "tests"


def heldout_rows(root: Path, row_set: str) -> dict[str, list[Example]]:
    """The rows of nlu/<row_set>/<language>.tsv per language."""
    if row_set not in ROW_SETS:
        raise ValueError(f"unknown row set {row_set!r}; one of {sorted(ROW_SETS)}")
    if not (root / "nlu" / row_set).is_dir():
        raise ValueError(f"nlu/{row_set} is not here: {ROW_SETS[row_set]}")
    return {lang: read_tsv(root / "nlu" / row_set / f"{lang}.tsv") for lang in LANGUAGES}


async def _shipped(rows: dict[str, list[Example]]) -> Predictions:
    settings = load_settings()
    out: Predictions = {}
    async with live_classifier(settings) as classifier:
        for lang, items in rows.items():
            out[lang] = await classify_all(classifier, [r.text for r in items])
    return out


def _baseline(labels: Sequence[str], texts: Sequence[str]) -> list[Classification]:
    """A baseline's fine labels as the model's would be: what the dialogue then routes."""
    return [
        Classification(to_routing(label), 1.0, "model", label, text)
        for label, text in zip(labels, texts, strict=True)
    ]


def _reports(
    rows: dict[str, list[Example]], systems: dict[str, Predictions], book: ReplyBook
) -> dict[str, dict[str, dict[str, Any]]]:
    """system → language (and "all") → routing report with `fine` and `misunderstood`."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for name, by_lang in systems.items():
        out[name] = {}
        groups = {lang: (rows[lang], by_lang[lang]) for lang in LANGUAGES}
        groups["all"] = (
            [r for lang in LANGUAGES for r in rows[lang]],
            [c for lang in LANGUAGES for c in by_lang[lang]],
        )
        for lang, (items, results) in groups.items():
            report = score([gold_routing(r) for r in items], [c.intent for c in results])
            report["fine"] = score(
                [gold_fine(r) for r in items], [fine_of(c) for c in results], fine_intents()
            )
            report["misunderstood"] = misunderstood_rate(results, book)
            # the same share among rows that did not deserve a clarifying question
            kept = [c for c, r in zip(results, items, strict=True) if gold_fine(r) != "other"]
            report["misunderstood_avoidable"] = misunderstood_rate(kept, book)
            out[name][lang] = report
    return out


def _parse_args(argv: list[str] | None, root: Path = PROJECT_ROOT) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m nlu.report", description=__doc__)
    parser.add_argument(
        "--set",
        dest="row_set",
        choices=sorted(ROW_SETS),
        default=default_set(root),
        help="held-out sets: nlu/heldout12 (the default when present), heldout11, heldout10, "
        "heldout9, heldout8, heldout7, heldout6, heldout5, heldout4, tests; any dev set written "
        "under nlu/ and registered in nlu.dataset.ROW_SETS",
    )
    return parser.parse_args(argv)


def _print_tables(row_set: str, rows: dict[str, list[Example]], reports: Any) -> None:
    print(f"routing macro-F1 on nlu/{row_set}/*.tsv ({ROW_SETS[row_set]}; baselines trained")
    print("on nlu/data like the model; misund. = shipped replies the dialogue would answer with")
    print("its clarifying question, of all rows and of the rows whose gold label is not other)")
    header = "".join(f"{s:>9}" for s in SYSTEMS)
    print(f"{'language':<9} {'rows':>5}{header}  misund.  of non-other")
    for lang in [*LANGUAGES, "all"]:
        n = sum(len(r) for r in rows.values()) if lang == "all" else len(rows[lang])
        cells = "".join(f"{reports[s][lang]['macro_f1']:>9.3f}" for s in SYSTEMS)
        mine = reports["shipped"][lang]
        print(
            f"{lang:<9} {n:>5}{cells}  {mine['misunderstood']:>6.1%}"
            f"  {mine['misunderstood_avoidable']:>10.1%}"
        )
    print("\nper fine intent, F1 (shipped / keyword / tfidf-lr) and support")
    for name in fine_intents():
        cells = " / ".join(
            f"{reports[s]['all']['fine']['per_intent'][name]['f1']:.3f}" for s in SYSTEMS
        )
        support = reports["shipped"]["all"]["fine"]["per_intent"][name]["support"]
        print(f"  {name:<18} {cells}   {support:>4}")
    for system in SYSTEMS:
        opt = reports[system]["all"]["per_intent"]["opt_out"]
        print(
            f"{system:<9} opt_out precision {opt['precision']:.3f} recall {opt['recall']:.3f}; "
            f"misunderstood {reports[system]['all']['misunderstood']:.1%}"
        )


def main(argv: list[str] | None = None) -> int:
    settings = load_settings()
    root = settings.root
    row_set: str = _parse_args(argv, root).row_set
    try:
        rows = heldout_rows(root, row_set)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for items in rows.values():
        check_intents(items)
    book = designer_book(root)
    training = all_training_examples(root / "nlu" / "data")
    keyword = KeywordMatcher().fit(training)
    tfidf = TfidfLogReg().fit(training)
    texts = {lang: [r.text for r in items] for lang, items in rows.items()}
    systems: dict[str, Predictions] = {
        "shipped": asyncio.run(_shipped(rows)),
        "keyword": {lang: _baseline(keyword.predict(t), t) for lang, t in texts.items()},
        "tfidf-lr": {lang: _baseline(tfidf.predict(t), t) for lang, t in texts.items()},
    }
    reports = _reports(rows, systems, book)
    _print_tables(row_set, rows, reports)
    print("\n" + format_report(reports["shipped"]["all"], "shipped path, all languages"))
    for lang in LANGUAGES:
        print("\n" + format_report(reports["shipped"][lang], f"shipped path, {lang}"))
    shipped = reports["shipped"]
    opt = shipped["all"]["per_intent"]["opt_out"]
    tfidf_all = reports["tfidf-lr"]
    checks = [
        (f"routing macro-F1 overall >= {TARGET_MACRO}", shipped["all"]["macro_f1"] >= TARGET_MACRO),
        *(
            (f"macro-F1 {lang} >= {TARGET_LANGUAGE}", shipped[lang]["macro_f1"] >= TARGET_LANGUAGE)
            for lang in LANGUAGES
        ),
        (f"opt_out recall >= {TARGET_OPT_OUT_RECALL}", opt["recall"] >= TARGET_OPT_OUT_RECALL),
        (
            f"opt_out precision >= {TARGET_OPT_OUT_PRECISION}",
            opt["precision"] >= TARGET_OPT_OUT_PRECISION,
        ),
        *(
            (f">= tfidf-lr in {lang}", shipped[lang]["macro_f1"] >= tfidf_all[lang]["macro_f1"])
            for lang in LANGUAGES
        ),
        ("beats tfidf-lr overall", shipped["all"]["macro_f1"] > tfidf_all["all"]["macro_f1"]),
        (
            "beats keyword overall",
            shipped["all"]["macro_f1"] > reports["keyword"]["all"]["macro_f1"],
        ),
        (
            f"misunderstood < {TARGET_MISUNDERSTOOD:.0%}",
            shipped["all"]["misunderstood"] < TARGET_MISUNDERSTOOD,
        ),
    ]
    print(f"\ntargets (on nlu/{row_set})")
    for name, passed in checks:
        print(f"  {'met    ' if passed else 'MISSED '} {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
