"""`make nlu-report`: the live path vs two baselines on the held-out files, per language.

`--set dev` runs the same report on nlu/dev (the first held-out rows, used to choose the
pipeline, so optimistic); the default `--set tests` is the fresh held-out set.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from bot.settings import load_settings
from nlu.baselines import KeywordMatcher, TfidfLogReg
from nlu.dataset import LANGUAGES, Example, all_training_examples, read_tsv
from nlu.evaluate import check_intents, format_report, live_classifier, predict, score
from nlu.intents import to_routing

TARGET_MACRO = 0.92
TARGET_LANGUAGE = 0.85
SET_TITLES = {
    "tests": "fresh held-out, never used for tuning",
    "dev": "dev set: rows used to choose the pipeline, optimistic",
}


async def _shipped(rows: dict[str, list[Example]]) -> dict[str, list[str]]:
    settings = load_settings()
    async with live_classifier(settings) as classifier:
        return {
            lang: await predict(classifier, [r.text for r in items]) for lang, items in rows.items()
        }


def heldout_rows(root: Path, row_set: str) -> dict[str, list[Example]]:
    """The rows of nlu/<row_set>/<language>.tsv per language (row_set: tests or dev)."""
    if row_set not in SET_TITLES:
        raise ValueError(f"unknown row set {row_set!r}; one of {sorted(SET_TITLES)}")
    return {lang: read_tsv(root / "nlu" / row_set / f"{lang}.tsv") for lang in LANGUAGES}


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m nlu.report", description=__doc__)
    parser.add_argument(
        "--set",
        dest="row_set",
        choices=sorted(SET_TITLES),
        default="tests",
        help="nlu/tests (fresh held-out, default) or nlu/dev (used for tuning)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    row_set: str = _parse_args(argv).row_set
    settings = load_settings()
    root = settings.root
    rows = heldout_rows(root, row_set)
    for items in rows.values():
        check_intents(items)
    training = [
        Example(e.text, to_routing(e.intent), e.language)
        for e in all_training_examples(root / "nlu" / "data")
    ]
    keyword = KeywordMatcher().fit(training)
    tfidf = TfidfLogReg().fit(training)
    shipped = asyncio.run(_shipped(rows))
    systems: dict[str, dict[str, list[str]]] = {
        "shipped": shipped,
        "keyword": {lang: keyword.predict([r.text for r in items]) for lang, items in rows.items()},
        "tfidf-lr": {lang: tfidf.predict([r.text for r in items]) for lang, items in rows.items()},
    }
    reports: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in systems}
    for name, by_lang in systems.items():
        for lang in LANGUAGES:
            reports[name][lang] = score([r.intent for r in rows[lang]], by_lang[lang])
        reports[name]["all"] = score(
            [r.intent for lang in LANGUAGES for r in rows[lang]],
            [p for lang in LANGUAGES for p in by_lang[lang]],
        )
    print(
        f"macro-F1 on nlu/{row_set}/*.tsv ({SET_TITLES[row_set]}; "
        "baselines trained on nlu/data like the model)"
    )
    print(f"{'language':<9} {'rows':>5} {'shipped':>8} {'keyword':>8} {'tfidf-lr':>9}")
    for lang in [*LANGUAGES, "all"]:
        n = sum(len(r) for r in rows.values()) if lang == "all" else len(rows[lang])
        cells = "".join(f"{reports[s][lang]['macro_f1']:>9.3f}" for s in systems)
        print(f"{lang:<9} {n:>5}{cells}")
    opt = reports["shipped"]["all"]["per_intent"]["opt_out"]
    print(f"\nshipped opt_out: precision {opt['precision']:.3f}  recall {opt['recall']:.3f}")
    print("\n" + format_report(reports["shipped"]["all"], "shipped path, all languages"))
    for lang in LANGUAGES:
        print("\n" + format_report(reports["shipped"][lang], f"shipped path, {lang}"))
    shipped_all = reports["shipped"]["all"]["macro_f1"]
    checks = [
        (f"macro-F1 overall >= {TARGET_MACRO}", shipped_all >= TARGET_MACRO),
        *(
            (
                f"macro-F1 {lang} >= {TARGET_LANGUAGE}",
                reports["shipped"][lang]["macro_f1"] >= TARGET_LANGUAGE,
            )
            for lang in LANGUAGES
        ),
        ("opt_out recall >= 0.98", opt["recall"] >= 0.98),
        ("opt_out precision >= 0.95", opt["precision"] >= 0.95),
        *(
            (f"beats {b} overall", shipped_all > reports[b]["all"]["macro_f1"])
            for b in ("keyword", "tfidf-lr")
        ),
    ]
    print(f"\ntargets (on nlu/{row_set})")
    for name, passed in checks:
        print(f"  {'met    ' if passed else 'MISSED '} {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
