"""`nudge train` skips when the NLU data, config.yml and domain.yml are unchanged."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from bot.settings import PROJECT_ROOT, Settings
from nlu.intents import fine_intents
from nlu.sentence_encoder import encoder_dir, encoder_for, is_trained
from nlu.train import (
    _prune,
    current_model,
    encoder_hash,
    train,
    train_encoder,
    training_hash,
    write_nlu_domain,
)
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


def test_hash_follows_data_config_and_domain_intents(root: Path) -> None:
    first = training_hash(root)
    assert training_hash(root) == first
    for path in (root / "nlu" / "data" / "pl.yml", root / "config.yml"):
        before = training_hash(root)
        path.write_text(path.read_text(encoding="utf-8") + "\n# changed\n", encoding="utf-8")
        assert training_hash(root) != before, path
    domain = root / "domain.yml"
    before = training_hash(root)
    text = domain.read_text(encoding="utf-8")
    domain.write_text(text.replace("Sure, no rush.", "Of course, no rush."), encoding="utf-8")
    assert "Of course, no rush." in domain.read_text(encoding="utf-8")
    assert training_hash(root) == before  # a template edit: the model would be the same
    domain.write_text(text.replace("  - later\n", ""), encoding="utf-8")
    assert training_hash(root) != before


def test_hash_follows_the_pipeline_component_code(root: Path) -> None:
    before = training_hash(root)
    component = root / "nlu" / "rasa_blend.py"
    component.write_text((PROJECT_ROOT / "nlu" / "rasa_blend.py").read_text(encoding="utf-8"))
    assert training_hash(root) != before


def test_encoder_hash_follows_data_and_its_code_not_config(root: Path) -> None:
    before = encoder_hash(root)
    (root / "config.yml").write_text("# tuned\n", encoding="utf-8")
    assert encoder_hash(root) == before
    code = root / "nlu" / "sentence_encoder.py"
    code.write_text((PROJECT_ROOT / "nlu" / "sentence_encoder.py").read_text(encoding="utf-8"))
    before, model_before = encoder_hash(root), training_hash(root)
    code.write_text(code.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    assert encoder_hash(root) != before and training_hash(root) == model_before
    before = encoder_hash(root)
    path = root / "nlu" / "data" / "en.yml"
    path.write_text(path.read_text(encoding="utf-8") + "\n# changed\n", encoding="utf-8")
    assert encoder_hash(root) != before


def test_unchanged_inputs_skip_training(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = _fake_model(root, training_hash(root))
    _fake_encoder(model, encoder_hash(root))
    # no .venv-rasa under this root: reaching the trainer would raise SystemExit
    assert train(root) == model
    assert "training skipped" in capsys.readouterr().out
    assert current_model(root / "models", training_hash(root)) == model


def _fake_encoder(model: Path, digest: str = "") -> Path:
    directory = encoder_dir(model)
    directory.mkdir()
    (directory / "classes.json").write_text(json.dumps({"classes": ["stop"]}))
    (directory / "source.json").write_text(json.dumps({"sha256": digest}))
    return directory


def _small_root(tmp_path: Path) -> Path:
    """A root whose training data is a few rows per language: fitting the encoder is quick."""
    data = tmp_path / "small" / "nlu" / "data"
    data.mkdir(parents=True)
    rows = {
        "en": {
            "stop": ["stop texting me", "unsubscribe"],
            "payment": ["card declined", "how to pay"],
        },
        "ru": {"stop": ["стоп", "не пишите мне"], "payment": ["карта не проходит", "как оплатить"]},
    }
    for lang, intents in rows.items():
        blocks = [
            f"- intent: {intent}\n  examples: |\n" + "".join(f"    - {t}\n" for t in texts)
            for intent, texts in intents.items()
        ]
        (data / f"{lang}.yml").write_text('version: "3.1"\nnlu:\n' + "".join(blocks))
    root = data.parent.parent
    (root / "domain.yml").write_text("intents:\n  - stop\n  - payment\n")
    return root


def test_the_encoder_is_trained_beside_an_up_to_date_model(tmp_path: Path) -> None:
    root = _small_root(tmp_path)
    model = _fake_model(root, training_hash(root))
    directory = train_encoder(root, model)
    assert directory == encoder_dir(model) and is_trained(directory)
    assert not directory.with_name(directory.name + ".partial").exists()
    scorer = encoder_for(model)
    assert scorer is not None and sorted(scorer.classes) == ["payment", "stop"]
    assert scorer.applies("please stop texting me") and not scorer.applies("не пишите мне")
    # a second call keeps the trained one
    stamp = (directory / "weights.npz").stat().st_mtime_ns
    assert train_encoder(root, model) == directory
    assert (directory / "weights.npz").stat().st_mtime_ns == stamp
    # new English examples (the Rasa model's name aside): trained again, in place
    path = root / "nlu" / "data" / "en.yml"
    path.write_text(
        path.read_text(encoding="utf-8") + "- intent: decline\n  examples: |\n    - no thanks\n"
    )
    assert train_encoder(root, model) == directory
    retrained = encoder_for(model)
    assert retrained is not None and "decline" in retrained.classes


def test_old_models_go_with_their_encoders(root: Path) -> None:
    models = [_fake_model(root, str(n) * 64) for n in range(4)]
    encoders = [_fake_encoder(model) for model in models]
    for age, model in enumerate(models):  # models[0] is the oldest
        os.utime(model, (1_000_000 + age, 1_000_000 + age))
    _prune(root / "models", keep=models[-1])
    assert not models[0].exists() and not encoders[0].exists()
    assert all(m.exists() for m in models[1:]) and all(e.exists() for e in encoders[1:])


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


def test_a_model_from_the_same_inputs_comes_from_the_cache(
    root: Path, tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = tmp_path_factory.mktemp("cache")
    other = tmp_path_factory.mktemp("checkouts") / "other"
    shutil.copytree(root, other)
    # trained in one checkout: a fake model with its encoder, then stored in the cache
    model = _fake_model(root, training_hash(root))
    _fake_encoder(model, encoder_hash(root))
    assert train(root, cache=cache) == model
    assert current_model(cache, training_hash(root)) is not None
    # another checkout of the same inputs copies it; no .venv-rasa there, so no training ran
    copied = train(other, cache=cache)
    assert copied == other / "models" / model.name
    assert copied.read_bytes() == model.read_bytes()
    assert json.loads((encoder_dir(copied) / "source.json").read_text())["sha256"] == (
        encoder_hash(other)
    )
    assert "copied from the cache" in capsys.readouterr().out
    assert not list((other / "models").glob("*.partial"))
    # changed inputs are not served from the cache, nor when asked to train anew
    (other / "config.yml").write_text("# tuned\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="venv-rasa"):
        train(other, cache=cache)
    shutil.copy(root / "config.yml", other / "config.yml")
    with pytest.raises(SystemExit, match="venv-rasa"):
        train(other, force=True, cache=cache)


def test_the_model_cache_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert Settings().model_cache_dir == tmp_path / "nudge" / "models"
    assert Settings(model_cache=str(tmp_path / "x")).model_cache_dir == tmp_path / "x"
    assert Settings(model_cache="off").model_cache_dir is None
