"""`nudge validate` checks for the NLU: training data, held-out files, config.yml, intents."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import yaml

from nlu.dataset import LANGUAGES, DataError, read_tsv, training_examples
from nlu.intents import known_intents
from nlu.types import ROUTING_INTENTS

MIN_EXAMPLES = {"ru": 80, "en": 80, "pl": 40, "zh": 40}


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
    for missing in sorted(set(ROUTING_INTENTS) - intents):
        problems.append(f"{path}:{line}: intents lacks the routing intent {missing!r}")
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
            if counts[intent] < MIN_EXAMPLES[language]:
                problems.append(
                    f"{path}:1: {intent} has {counts[intent]} examples, "
                    f"at least {MIN_EXAMPLES[language]} needed"
                )


def _check_tests(root: Path, problems: list[str]) -> None:
    for path in sorted((root / "nlu" / "tests").glob("*.tsv")):
        try:
            rows = read_tsv(path)
        except DataError as exc:
            problems.append(str(exc))
            continue
        for row in rows:
            if row.intent not in ROUTING_INTENTS:
                problems.append(f"{path}:{row.line}: intent {row.intent!r} is not a routing intent")


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


def validate_nlu(root: Path) -> list[str]:
    """Every NLU problem as `file:line: message`."""
    problems: list[str] = []
    intents = _domain_intents(root, problems)
    _check_training(root, intents, problems)
    _check_tests(root, problems)
    _check_config(root, problems)
    return problems
