"""nlu/tests (fresh held-out) and nlu/dev (rows used for tuning): validation, report sets."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.settings import PROJECT_ROOT
from nlu.dataset import LANGUAGES, ROW_SETS, SEALED_SETS
from nlu.report import _parse_args, heldout_rows, main
from nlu.validate import validate_nlu

HEADER = "text\tintent\n"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    for name in ("data", "tests"):
        shutil.copytree(PROJECT_ROOT / "nlu" / name, tmp_path / "nlu" / name)
    for name in ("config.yml", "domain.yml"):
        shutil.copy(PROJECT_ROOT / name, tmp_path / name)
    # a small dev set of our own, so these tests do not depend on the shipped dev rows
    dev = tmp_path / "nlu" / "dev"
    dev.mkdir()
    for lang in LANGUAGES:
        (dev / f"{lang}.tsv").write_text(
            f"{HEADER}dev row one in {lang}\tother\ndev row two in {lang}\tpayment\n",
            encoding="utf-8",
        )
    return tmp_path


def _append(path: Path, text: str) -> int:
    """Append a row; returns its line number."""
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join([*lines, text]) + "\n", encoding="utf-8")
    return len(lines) + 1


def _row_set(root: Path, name: str, intent: str | None = None) -> Path:
    """nlu/<name> with a file per language: empty, or one row "<name> row in <lang>"."""
    directory = root / "nlu" / name
    directory.mkdir()
    for lang in LANGUAGES:
        row = f"{name} row in {lang}\t{intent}\n" if intent else ""
        (directory / f"{lang}.tsv").write_text(f"{HEADER}{row}", encoding="utf-8")
    return directory


def _first_test_row(root: Path, lang: str) -> tuple[str, str]:
    text, intent = (
        (root / "nlu" / "tests" / f"{lang}.tsv")
        .read_text(encoding="utf-8")
        .splitlines()[1]
        .split("\t")
    )
    return text, intent


def test_shipped_sets_have_one_file_per_language_and_no_shared_rows() -> None:
    assert validate_nlu(PROJECT_ROOT) == []
    present = [name for name in ROW_SETS if (PROJECT_ROOT / "nlu" / name).is_dir()]
    shipped = {"tests", "dev25", "dev26", "heldout10", "heldout11", "heldout12", "heldout13"}
    assert shipped <= set(present)
    for row_set in present:
        rows = heldout_rows(PROJECT_ROOT, row_set)
        assert set(rows) == set(LANGUAGES)
        assert all(rows[lang] for lang in LANGUAGES), row_set


def test_copy_of_fixture_validates(root: Path) -> None:
    assert validate_nlu(root) == []


def test_test_row_in_training_data_is_not_held_out(root: Path) -> None:
    text, intent = _first_test_row(root, "en")
    data = root / "nlu" / "data" / "en.yml"
    data.write_text(
        data.read_text(encoding="utf-8")
        + f"- intent: {intent}\n  examples: |\n    - {text.upper()}\n",
        encoding="utf-8",
    )
    problems = validate_nlu(root)
    tests_file = root / "nlu" / "tests" / "en.tsv"
    assert any(
        p.startswith(f"{tests_file}:2: also in nlu/data/en.yml:") and "not held out" in p
        for p in problems
    ), problems


def test_test_row_in_dev_is_not_held_out(root: Path) -> None:
    text, intent = _first_test_row(root, "zh")
    line = _append(root / "nlu" / "dev" / "pl.tsv", f"{text}\t{intent}")
    problems = validate_nlu(root)
    tests_file = root / "nlu" / "tests" / "zh.tsv"
    assert f"{tests_file}:2: also in nlu/dev/pl.tsv:{line}, so not held out" in problems


def test_test_row_in_the_second_dev_set_is_not_held_out(root: Path) -> None:
    text, intent = _first_test_row(root, "ru")
    dev2 = _row_set(root, "dev2")
    line = _append(dev2 / "en.tsv", f"{text}\t{intent}")
    problems = validate_nlu(root)
    tests_file = root / "nlu" / "tests" / "ru.tsv"
    assert f"{tests_file}:2: also in nlu/dev2/en.tsv:{line}, so not held out" in problems


def test_dev_row_in_training_data_is_not_apart(root: Path) -> None:
    data = root / "nlu" / "data" / "pl.yml"
    data.write_text(
        data.read_text(encoding="utf-8")
        + "- intent: other\n  examples: |\n    - Dev Row One In Ru\n",
        encoding="utf-8",
    )
    problems = validate_nlu(root)
    dev = root / "nlu" / "dev" / "ru.tsv"
    assert any(
        p.startswith(f"{dev}:2: also in nlu/data/pl.yml:") and p.endswith("so not apart")
        for p in problems
    ), problems


def test_row_of_one_tuning_set_in_another_is_not_apart(root: Path) -> None:
    dev2 = _row_set(root, "dev2")
    line = _append(dev2 / "zh.tsv", "dev row two in en\tpayment")
    problems = validate_nlu(root)
    assert f"{dev2 / 'zh.tsv'}:{line}: also in nlu/dev/en.tsv:3, so not apart" in problems


def test_one_text_in_two_languages_of_a_tuning_set_is_fine(root: Path) -> None:
    dev = root / "nlu" / "dev"
    _append(dev / "en.tsv", "👌🏻👌🏻\tother")
    _append(dev / "pl.tsv", "👌🏻👌🏻\tother")
    assert validate_nlu(root) == []


def test_dev_rows_are_validated_too(root: Path) -> None:
    dev = root / "nlu" / "dev" / "ru.tsv"
    bad_intent = _append(dev, "привет\tgreet")
    duplicate = _append(dev, "DEV ROW ONE IN RU\tother")
    problems = validate_nlu(root)
    assert f"{dev}:{bad_intent}: intent 'greet' is not a routing intent" in problems
    assert f"{dev}:{duplicate}: duplicate of line 2" in problems


def test_tests_need_every_language_and_enough_rows_per_intent(root: Path) -> None:
    tests = root / "nlu" / "tests"
    zh_opt_out = sum(r.intent == "opt_out" for r in heldout_rows(root, "tests")["zh"])
    (tests / "pl.tsv").unlink()
    for lang in ("ru", "en"):
        path = tests / f"{lang}.tsv"
        kept = [
            line
            for line in path.read_text(encoding="utf-8").splitlines()
            if not line.endswith("\topt_out")
        ]
        path.write_text("\n".join(kept) + "\n", encoding="utf-8")
    problems = validate_nlu(root)
    assert f"{tests / 'pl.tsv'}:1: missing" in problems
    assert (
        f"{tests}: opt_out has {zh_opt_out} rows over all languages, at least 40 needed"
    ) in problems
    assert not any("payment has" in p for p in problems), problems


def test_a_folded_set_is_named_as_folded_not_read(capsys: pytest.CaptureFixture[str]) -> None:
    assert not (PROJECT_ROOT / "nlu" / "dev5").exists()
    assert main(["--set", "dev5"]) == 2
    assert "nlu/dev5 is not here: fifth dev set, used for tuning; folded into the training" in (
        capsys.readouterr().err
    )


def test_missing_dev_set_is_allowed(root: Path) -> None:
    shutil.rmtree(root / "nlu" / "dev")
    assert validate_nlu(root) == []


def test_report_reads_the_chosen_set(root: Path) -> None:
    dev = heldout_rows(root, "dev")
    assert [r.text for r in dev["en"]] == ["dev row one in en", "dev row two in en"]
    tests = heldout_rows(root, "tests")
    assert tests["en"][0].text == _first_test_row(root, "en")[0]
    assert _parse_args([], root).row_set == "tests"
    assert _parse_args(["--set", "dev"]).row_set == "dev"
    assert _parse_args(["--set", "dev2"]).row_set == "dev2"
    assert _parse_args(["--set", "dev3"]).row_set == "dev3"
    assert _parse_args(["--set", "dev4"]).row_set == "dev4"
    with pytest.raises(SystemExit):
        _parse_args(["--set", "train"])
    with pytest.raises(ValueError, match="unknown row set"):
        heldout_rows(root, "data")


def test_report_reads_the_second_dev_set(root: Path) -> None:
    _row_set(root, "dev2", "discount")
    rows = heldout_rows(root, "dev2")
    assert [r.text for r in rows["pl"]] == ["dev2 row in pl"]
    assert rows["zh"][0].intent == "discount"


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ("stpo: 1.3", "intent_weights names unknown intent 'stpo'"),
        ("stop: 0", "intent_weights['stop'] must be a positive number"),
        ("stop: high", "intent_weights['stop'] must be a positive number"),
    ],
)
def test_a_bad_intent_weight_in_config_is_named(root: Path, weights: str, message: str) -> None:
    config = root / "config.yml"
    text = config.read_text(encoding="utf-8")
    assert "      stop: 1.3\n" in text
    config.write_text(text.replace("      stop: 1.3\n", f"      {weights}\n"), encoding="utf-8")
    line = next(n for n, row in enumerate(text.splitlines(), start=1) if "intent_weights:" in row)
    assert [p for p in validate_nlu(root) if "intent_weights" in p] == [
        f"{config}:{line}: {message}"
    ]


def test_a_sealed_set_is_apart_from_the_older_held_out_sets_too(root: Path) -> None:
    sealed = _row_set(root, "heldout2", "other")
    assert validate_nlu(root) == []
    assert _parse_args([], root).row_set == "heldout2"  # the report's default
    text, intent = _first_test_row(root, "pl")
    line = _append(sealed / "pl.tsv", f"{text.upper()}\t{intent}")
    assert validate_nlu(root) == [
        f"{sealed / 'pl.tsv'}:{line}: also in nlu/tests/pl.tsv:2, so not held out"
    ]


def test_the_older_held_out_sets_may_share_rows_with_each_other(root: Path) -> None:
    # nlu/tests and nlu/heldout predate the check; only a sealed set must be apart from them
    text, intent = _first_test_row(root, "en")
    _append(_row_set(root, "heldout") / "en.tsv", f"{text}\t{intent}")
    assert validate_nlu(root) == []


def test_two_sealed_sets_are_apart_from_each_other(root: Path) -> None:
    _row_set(root, "heldout2", "other")
    newer = _row_set(root, "heldout3", "other")
    assert validate_nlu(root) == []
    assert _parse_args([], root).row_set == "heldout3"  # the report's default: the newest
    line = _append(newer / "zh.tsv", "HELDOUT2 ROW IN ZH\tother")
    assert validate_nlu(root) == [
        f"{newer / 'zh.tsv'}:{line}: also in nlu/heldout2/zh.tsv:2, so not held out"
    ]


def test_an_unopened_set_is_kept_apart_but_not_reported(root: Path) -> None:
    _row_set(root, "heldout12", "other")
    unopened = _row_set(root, "heldout13", "other")
    assert validate_nlu(root) == []
    assert _parse_args([], root).row_set == "heldout12"  # not read before its first look
    line = _append(unopened / "ru.tsv", "HELDOUT12 ROW IN RU\tother")
    assert validate_nlu(root) == [
        f"{unopened / 'ru.tsv'}:{line}: also in nlu/heldout12/ru.tsv:2, so not held out"
    ]


def test_the_report_reads_the_newest_held_out_set(root: Path) -> None:
    # each sealed set, once it exists, is the default over the ones before it
    for name in SEALED_SETS[SEALED_SETS.index("heldout4") :]:
        _row_set(root, name, "other")
        assert validate_nlu(root) == []
        assert _parse_args([], root).row_set == name
    assert _parse_args(["--set", "heldout4"], root).row_set == "heldout4"
