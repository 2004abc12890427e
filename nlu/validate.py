"""`nudge validate` checks for the NLU: training data, dev and held-out rows, config, intents."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import yaml

from nlu.dataset import (
    LANGUAGES,
    SEALED_SETS,
    TUNING_SETS,
    UNOPENED_SETS,
    DataError,
    Example,
    read_tsv,
    training_examples,
)
from nlu.intents import FINE_INTENTS, fine_intents, known_intents, to_routing
from nlu.types import ROUTING_INTENTS

MIN_EXAMPLES = {"ru": 80, "en": 80, "pl": 40, "zh": 40}  # per routing intent
MIN_FINE_EXAMPLES = {"ru": 25, "en": 25, "pl": 15, "zh": 15}  # per fine intent
# nlu/tests, nlu/heldout: the older held-out sets; nlu/heldout2 .. heldout13: sealed,
# apart from every other set
HELDOUT_SETS = (*TUNING_SETS, "tests", "heldout", *SEALED_SETS, *UNOPENED_SETS)
MIN_HELDOUT_PER_INTENT = 40


def _domain_intents(root: Path, problems: list[str]) -> set[str]:
    path = root / "domain.yml"
    try:
        domain = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        problems.append(f"{path}:1: cannot read: {exc}")
        return set()
    intents = {
        str(i) if not isinstance(i, dict) else str(next(iter(i)))
        for i in domain.get("intents") or []
    }
    line = _line_of(path, "intents:")
    reached = {to_routing(intent) for intent in intents}
    for missing in sorted(set(ROUTING_INTENTS) - reached):
        problems.append(f"{path}:{line}: no intent maps onto the routing intent {missing!r}")
    for absent in [name for name in fine_intents() if name not in intents]:
        problems.append(f"{path}:{line}: intents lacks the fine intent {absent!r}")
    for unknown in sorted(intents - known_intents()):
        problems.append(
            f"{path}:{line}: intent {unknown!r} is not mapped onto a routing intent "
            "in nlu/intents.py"
        )
    return intents


def _line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip().startswith(needle):
            return number
    return 1


def _check_training(root: Path, intents: set[str], problems: list[str]) -> None:
    data_dir = root / "nlu" / "data"
    seen: dict[str, tuple[str, str]] = {}
    for language in LANGUAGES:
        path = data_dir / f"{language}.yml"
        if not path.exists():
            problems.append(f"{path}:1: missing training data for {language}")
            continue
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            examples = training_examples(path)
        except (DataError, yaml.YAMLError) as exc:
            problems.append(f"{path}:1: {exc}")
            continue
        if str(document.get("version")) != "3.1":
            problems.append(f'{path}:1: version must be "3.1"')
        counts: dict[str, int] = defaultdict(int)
        for example in examples:
            counts[example.intent] += 1
            if example.intent not in intents:
                problems.append(
                    f"{path}:{example.line}: intent {example.intent!r} is not in domain.yml"
                )
            key = example.text.casefold()
            if key in seen and seen[key][0] != example.intent:
                problems.append(
                    f"{path}:{example.line}: {example.text!r} is also labelled "
                    f"{seen[key][0]!r} at {seen[key][1]}"
                )
            seen.setdefault(key, (example.intent, f"{path.name}:{example.line}"))
        for intent in ROUTING_INTENTS:
            total = sum(n for name, n in counts.items() if to_routing(name) == intent)
            if total < MIN_EXAMPLES[language]:
                problems.append(
                    f"{path}:1: {intent} has {total} examples, "
                    f"at least {MIN_EXAMPLES[language]} needed"
                )
        for name in fine_intents():
            if name in intents and counts[name] < MIN_FINE_EXAMPLES[language]:
                problems.append(
                    f"{path}:1: {name} has {counts[name]} examples, "
                    f"at least {MIN_FINE_EXAMPLES[language]} needed"
                )


def _check_heldout(root: Path, problems: list[str]) -> None:
    """nlu/tests and the held-out sets (held out) and the dev sets (used for tuning) that are
    here: sane and apart.

    A row that is also in the training data or in an earlier set (same text, any case) is a
    problem: a held-out set would no longer be held out, a tuning set would flatter the model.
    """
    seen_elsewhere: dict[str, str] = {}
    # rows of the older held-out sets: a sealed set must be apart from them too
    held_out_rows: dict[str, str] = {}
    for example in _readable_training(root):
        seen_elsewhere.setdefault(
            example.text.casefold(), f"nlu/data/{example.language}.yml:{example.line}"
        )
    for name in HELDOUT_SETS:
        directory = root / "nlu" / name
        if name != "tests" and not directory.exists():
            continue  # optional sets; nlu/tests is not
        counts: dict[str, int] = defaultdict(int)
        # one text in two languages of a set ("ok", "👍") is fine; in two sets it is not
        seen_in_set: dict[str, str] = {}
        for language in LANGUAGES:
            path = directory / f"{language}.tsv"
            try:
                rows = read_tsv(path)
            except DataError as exc:
                problems.append(str(exc) if path.exists() else f"{path}:1: missing")
                continue
            first_line: dict[str, int] = {}
            for row in rows:
                counts[to_routing(row.intent)] += 1
                if row.intent not in known_intents():
                    problems.append(
                        f"{path}:{row.line}: intent {row.intent!r} is not a routing intent"
                    )
                if row.fine and FINE_INTENTS.get(row.fine) != to_routing(row.intent):
                    problems.append(
                        f"{path}:{row.line}: fine intent {row.fine!r} does not map onto "
                        f"{row.intent!r}"
                    )
                if not row.text:
                    problems.append(f"{path}:{row.line}: empty text")
                key = row.text.casefold()
                if key in first_line:
                    problems.append(f"{path}:{row.line}: duplicate of line {first_line[key]}")
                first_line.setdefault(key, row.line)
                elsewhere = seen_elsewhere.get(key)
                if elsewhere is None and name in (*SEALED_SETS, *UNOPENED_SETS):
                    elsewhere = held_out_rows.get(key)
                if elsewhere is not None:
                    purpose = "apart" if name in TUNING_SETS else "held out"
                    problems.append(f"{path}:{row.line}: also in {elsewhere}, so not {purpose}")
                if name in TUNING_SETS:
                    seen_in_set.setdefault(key, f"{path.relative_to(root)}:{row.line}")
                else:
                    held_out_rows.setdefault(key, f"{path.relative_to(root)}:{row.line}")
        for key, place in seen_in_set.items():
            seen_elsewhere.setdefault(key, place)
        if name == "tests":
            for intent in ROUTING_INTENTS:
                if counts[intent] < MIN_HELDOUT_PER_INTENT:
                    problems.append(
                        f"{directory}: {intent} has {counts[intent]} rows over all languages, "
                        f"at least {MIN_HELDOUT_PER_INTENT} needed"
                    )


def _readable_training(root: Path) -> list[Example]:
    examples: list[Example] = []
    for language in LANGUAGES:
        try:
            examples.extend(training_examples(root / "nlu" / "data" / f"{language}.yml"))
        except (OSError, DataError):
            continue  # _check_training reports unreadable training files
    return examples


def _check_config(root: Path, problems: list[str]) -> None:
    path = root / "config.yml"
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        problems.append(f"{path}:1: cannot read: {exc}")
        return
    pipeline = config.get("pipeline")
    line = _line_of(path, "pipeline:")
    if not isinstance(pipeline, list) or not pipeline:
        problems.append(f"{path}:{line}: pipeline must be a non-empty list")
        return
    names = [step.get("name") for step in pipeline if isinstance(step, dict)]
    if len(names) != len(pipeline) or not all(isinstance(n, str) for n in names):
        problems.append(f"{path}:{line}: every pipeline step needs a name")
    if not any(isinstance(n, str) and n.endswith("Classifier") for n in names):
        problems.append(f"{path}:{line}: the pipeline has no intent classifier")
    for step in pipeline:
        if isinstance(step, dict) and "intent_weights" in step:
            _check_intent_weights(path, step["intent_weights"], problems)


def _check_intent_weights(path: Path, weights: object, problems: list[str]) -> None:
    """The blend's `intent_weights`: known fine intents, each a positive number."""
    line = _line_of(path, "intent_weights:")
    if not isinstance(weights, dict):
        problems.append(f"{path}:{line}: intent_weights must map intents to numbers")
        return
    for name, weight in weights.items():
        if name not in fine_intents():
            problems.append(f"{path}:{line}: intent_weights names unknown intent {name!r}")
        if isinstance(weight, bool) or not isinstance(weight, int | float) or weight <= 0:
            problems.append(f"{path}:{line}: intent_weights[{name!r}] must be a positive number")


def validate_nlu(root: Path) -> list[str]:
    """Every NLU problem as `file:line: message`."""
    problems: list[str] = []
    intents = _domain_intents(root, problems)
    _check_training(root, intents, problems)
    _check_heldout(root, problems)
    _check_config(root, problems)
    return problems
