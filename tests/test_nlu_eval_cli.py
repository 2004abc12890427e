"""`nudge nlu eval --data FILE [--json]`: the contract's JSON shape, through a real Rasa."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from bot.settings import PROJECT_ROOT, Settings
from nlu.evaluate import live_classifier, score
from nlu.sentence_encoder import encoder_for
from nlu.types import ROUTING_INTENTS
from tests.rasa_fixture import RASA_TOKEN, model_for_tests

ROWS = [
    ("не проходит оплата", "payment"),
    ("how much is shipping", "delivery"),
    ("macie kod rabatowy", "discount"),
    ("STOP", "opt_out"),
    ("谢谢", "other"),
]


def _nudge(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        env=os.environ | (env or {}),
        timeout=600,
        check=False,
    )


def _tsv(tmp_path: Path, header: str = "text\tintent") -> Path:
    path = tmp_path / "eval.tsv"
    lines = [header, *(f"{text}\t{intent}" for text, intent in ROWS)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.rasa
def test_json_report_has_the_contract_shape(tmp_path: Path, rasa_url: str) -> None:
    result = _nudge(
        "nlu", "eval", "--data", str(_tsv(tmp_path)), "--json",
        env={"NUDGE_NLU_URL": rasa_url, "NUDGE_NLU_TOKEN": RASA_TOKEN},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert set(report) == {"accuracy", "macro_f1", "per_intent", "confusion"}
    assert set(report["per_intent"]) == set(ROUTING_INTENTS)
    for row in report["per_intent"].values():
        assert set(row) == {"precision", "recall", "f1", "support"}
        assert row["support"] == 1
    assert set(report["confusion"]) == set(ROUTING_INTENTS)
    for predicted in report["confusion"].values():
        assert set(predicted) == set(ROUTING_INTENTS)
    assert sum(sum(p.values()) for p in report["confusion"].values()) == len(ROWS)
    assert 0.0 <= report["macro_f1"] <= 1.0 and 0.0 <= report["accuracy"] <= 1.0
    assert report["confusion"]["opt_out"]["opt_out"] == 1  # STOP is a rule


@pytest.mark.parametrize(
    ("header", "message"), [("text\tlabel", "header lacks column(s) intent"), ("x", "text")]
)
def test_bad_header_is_named(tmp_path: Path, header: str, message: str) -> None:
    result = _nudge("nlu", "eval", "--data", str(_tsv(tmp_path, header)))
    assert result.returncode == 2
    assert message in result.stderr and "eval.tsv:1" in result.stderr


def test_unknown_intent_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.tsv"
    path.write_text("text\tintent\nhello\tgreeting\n", encoding="utf-8")
    result = _nudge("nlu", "eval", "--data", str(path))
    assert result.returncode == 2
    assert "line 2" in result.stderr and "greeting" in result.stderr


def test_missing_file_is_named(tmp_path: Path) -> None:
    result = _nudge("nlu", "eval", "--data", str(tmp_path / "nope.tsv"))
    assert result.returncode == 2 and "nope.tsv" in result.stderr


def test_score_arithmetic() -> None:
    report = score(
        ["payment", "payment", "opt_out", "other"], ["payment", "other", "opt_out", "other"]
    )
    assert report["accuracy"] == 0.75
    assert report["per_intent"]["payment"] == {
        "precision": 1.0,
        "recall": 0.5,
        "f1": 0.6667,
        "support": 2,
    }
    assert report["per_intent"]["other"]["precision"] == 0.5
    assert report["confusion"]["payment"]["other"] == 1
    # macro-F1 over intents present in the gold labels or predictions
    assert report["macro_f1"] == round((0.6667 + 1.0 + 0.6667) / 3, 4)


@pytest.mark.rasa
def test_fine_report_counts_fine_labels_under_their_class(tmp_path: Path, rasa_url: str) -> None:
    path = tmp_path / "fine.tsv"
    path.write_text(
        "text\tintent\tfine\nне актуально\topt_out\tdecline\nSTOP\tstop\t\n"
        "спасибо\tother\tthanks\nне проходит оплата\tpayment\t\n",
        encoding="utf-8",
    )
    env = {"NUDGE_NLU_URL": rasa_url, "NUDGE_NLU_TOKEN": RASA_TOKEN}
    plain = _nudge("nlu", "eval", "--data", str(path), "--json", env=env)
    assert plain.returncode == 0, plain.stderr
    report = json.loads(plain.stdout)
    assert set(report) == {"accuracy", "macro_f1", "per_intent", "confusion"}
    assert report["per_intent"]["opt_out"]["support"] == 2  # "stop" is counted as opt_out
    result = _nudge("nlu", "eval", "--data", str(path), "--json", "--fine", env=env)
    assert result.returncode == 0, result.stderr
    fine = json.loads(result.stdout)
    assert fine["fine"]["confusion"]["decline"]["decline"] == 1
    assert fine["fine"]["confusion"]["stop"]["stop"] == 1
    assert fine["fine"]["confusion"]["thanks"]["thanks"] == 1
    assert fine["fine"]["per_intent"]["already_paid"]["support"] == 0
    assert fine["misunderstood"] == 0.0
    text = _nudge("nlu", "eval", "--data", str(path), "--fine", env=env)
    assert "fine intents" in text.stdout and "misunderstood" in text.stdout


def test_a_fine_label_under_the_wrong_class_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.tsv"
    path.write_text("text\tintent\tfine\nуже оплатил\topt_out\talready_paid\n", encoding="utf-8")
    result = _nudge("nlu", "eval", "--data", str(path))
    assert result.returncode == 2
    assert "line 2" in result.stderr and "already_paid" in result.stderr


@pytest.mark.rasa
async def test_eval_against_a_server_blends_the_encoders_of_the_model_it_serves(
    rasa_url: str, settings: Settings
) -> None:
    model = model_for_tests()
    assert model is not None
    external = replace(settings, nlu_url=rasa_url, nlu_token=RASA_TOKEN, root=PROJECT_ROOT)
    async with live_classifier(external) as classifier:
        assert classifier.encoder is not None
        assert classifier.encoder is encoder_for(model)
    # a server that cannot say which model it serves is read alone
    async with live_classifier(replace(external, nlu_token="wrong")) as classifier:
        assert classifier.encoder is None
