"""`nudge train` skips when the NLU data, config.yml and domain.yml are unchanged."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bot.settings import PROJECT_ROOT
from nlu.intents import fine_intents
from nlu.train import current_model, train, training_hash, write_nlu_domain
from nlu.validate import validate_nlu


@pytest.fixture
def root(tmp_path: Path) -> Path:
    shutil.copytree(PROJECT_ROOT / "nlu" / "data", tmp_path / "nlu" / "data")
    shutil.copytree(PROJECT_ROOT / "nlu" / "tests", tmp_path / "nlu" / "tests")
    for name in ("config.yml", "domain.yml"):
        shutil.copy(PROJECT_ROOT / name, tmp_path / name)
    return tmp_path


def _fake_model(root: Path, digest: str) -> Path:
    models = root / "models"
    models.mkdir(exist_ok=True)
    model = models / f"nlu-{digest[:16]}.tar.gz"
    model.write_bytes(b"not really a model")
    (models / f"nlu-{digest[:16]}.json").write_text(json.dumps({"sha256": digest}))
    return model


def test_hash_follows_data_config_and_domain(root: Path) -> None:
    first = training_hash(root)
    assert training_hash(root) == first
    for path in (root / "nlu" / "data" / "pl.yml", root / "config.yml", root / "domain.yml"):
        before = training_hash(root)
        path.write_text(path.read_text(encoding="utf-8") + "\n# changed\n", encoding="utf-8")
        assert training_hash(root) != before, path


def test_hash_follows_the_pipeline_component_code(root: Path) -> None:
    before = training_hash(root)
    component = root / "nlu" / "rasa_blend.py"
    component.write_text((PROJECT_ROOT / "nlu" / "rasa_blend.py").read_text(encoding="utf-8"))
    assert training_hash(root) != before


def test_unchanged_inputs_skip_training(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = _fake_model(root, training_hash(root))
    # no .venv-rasa under this root: reaching the trainer would raise SystemExit
    assert train(root) == model
    assert "training skipped" in capsys.readouterr().out
    assert current_model(root / "models", training_hash(root)) == model


def test_changed_inputs_need_training(root: Path) -> None:
    _fake_model(root, training_hash(root))
    (root / "config.yml").write_text(
        (root / "config.yml").read_text(encoding="utf-8") + "\n# tuned\n", encoding="utf-8"
    )
    assert current_model(root / "models", training_hash(root)) is None
    with pytest.raises(SystemExit, match="venv-rasa"):
        train(root)


def test_rasa_gets_only_the_intents(root: Path, tmp_path: Path) -> None:
    target = tmp_path / "nlu-domain.yml"
    write_nlu_domain(root, target)
    text = target.read_text(encoding="utf-8")
    assert "intents:" in text and "responses" not in text
    for intent in fine_intents():  # the model learns fine intents (R-RP6)
        assert f"- {intent}" in text


def test_shipped_nlu_files_validate() -> None:
    assert validate_nlu(PROJECT_ROOT) == []


def test_validation_names_file_and_line(root: Path) -> None:
    path = root / "nlu" / "data" / "en.yml"
    path.write_text(
        path.read_text(encoding="utf-8") + "- intent: greet\n  examples: |\n    - hiya\n",
        encoding="utf-8",
    )
    problems = validate_nlu(root)
    assert any(p.startswith(f"{path}:") and "'greet' is not in domain.yml" in p for p in problems)
