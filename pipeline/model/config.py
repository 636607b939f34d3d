"""The training configuration (``configs/train.toml``): reading, checking, building the estimator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.config import CONFIG_DIR, read_toml
from pipeline.errors import ConfigError
from pipeline.features.preprocess import JAPANESE_TOKENIZERS, WORD_TOKENIZERS
from pipeline.model.estimator import StrategyClassifier

DEFAULT_CONFIG = CONFIG_DIR / "train.toml"


def load_config(path: Path | None) -> dict[str, Any]:
    path = Path(path) if path else DEFAULT_CONFIG
    cfg = read_toml(path, what="config file", option="--config")
    params = cfg.get("classifier", {})
    valid = StrategyClassifier().get_params()
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise ConfigError(where=path, problem="unknown [classifier] option(s)", seen=unknown, valid=", ".join(valid),
                          todo="Fix the option names in the training config")
    japanese = params.get("japanese_tokenizer", "sudachi")
    if japanese not in JAPANESE_TOKENIZERS:
        raise ConfigError(where=path, problem="invalid japanese_tokenizer", seen=japanese,
                          valid=", ".join(map(repr, JAPANESE_TOKENIZERS)), todo="Fix [classifier] japanese_tokenizer")
    words = params.get("word_tokenizer", "spacy")
    if words not in WORD_TOKENIZERS:
        raise ConfigError(where=path, problem="invalid word_tokenizer", seen=words,
                          valid=", ".join(map(repr, WORD_TOKENIZERS)), todo="Fix [classifier] word_tokenizer")
    return {"seed": int(cfg.get("seed", 0)), "classifier": params, "path": str(path)}


def build_classifier(cfg: dict[str, Any]) -> StrategyClassifier:
    params: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v  # TOML arrays
                              for k, v in cfg["classifier"].items()}
    return StrategyClassifier(**params, random_state=cfg["seed"])
