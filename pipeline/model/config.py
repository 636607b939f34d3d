"""The training configuration (``configs/train.toml``): reading, checking, building the estimator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.config import CONFIG_DIR, read_toml
from pipeline.errors import ConfigError
from pipeline.features.preprocess import JAPANESE_TOKENIZERS, WORD_TOKENIZERS
from pipeline.model.estimator import StrategyClassifier

DEFAULT_CONFIG = CONFIG_DIR / "train.toml"


#: How many ``extends`` a config may chain (a loop stops here instead of recursing forever).
MAX_EXTENDS = 4


def load_config(path: Path | None, *, _depth: int = 0) -> dict[str, Any]:
    """Read and check a training config: ``seed`` and the ``[classifier]`` options of
    :class:`~pipeline.model.estimator.StrategyClassifier`.

    ``extends = "train.toml"`` (a path relative to the config's folder) starts from that config:
    its seed and options hold unless this file sets them, so a variant states only what it changes
    (``configs/train_fast.toml``). The options are checked after merging.
    """
    path = Path(path) if path else DEFAULT_CONFIG
    cfg = read_toml(path, what="config file", option="--config")
    base: dict[str, Any] = {"seed": 0, "classifier": {}}
    extends = cfg.get("extends")
    if extends is not None:
        if not isinstance(extends, str) or not extends.strip():
            raise ConfigError(where=path, problem="extends must name a config file", seen=extends,
                              valid='a path relative to this file, e.g. "train.toml"', todo="Fix extends in the training config")
        if _depth >= MAX_EXTENDS:
            raise ConfigError(where=path, problem="too many configs extend each other (a loop?)", seen=extends,
                              valid=f"at most {MAX_EXTENDS} in a chain", todo="Fix extends in the training configs")
        base = load_config(path.parent / extends, _depth=_depth + 1)
    params = cfg.get("classifier", {})
    if not isinstance(params, dict):
        raise ConfigError(where=path, problem="[classifier] must be a table of options", seen=params,
                          valid="a [classifier] section with name = value lines", todo="Fix the training config")
    params = {**base["classifier"], **params}
    seed = cfg.get("seed", base["seed"])
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(where=path, problem="seed must be a whole number", seen=seed, valid="an integer >= 0",
                          todo="Fix seed in the training config")
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
    for name, value in params.items():
        _check_option(path, name, value, valid[name])
    out = {"seed": seed, "classifier": params, "path": str(path)}
    if extends is not None:
        out["extends"] = extends
    return out


#: Options that must be above (">") or at least ("≥") a bound; the rest only need their type.
_BOUNDS: dict[str, tuple[str, float]] = {
    "C": (">", 0), "meta_weight": (">", 0), "char_weight": (">", 0), "word_weight": (">", 0),
    "group_weight_power": ("≥", 0), "min_groups": ("≥", 1), "max_char_features": ("≥", 1),
    "max_word_features": ("≥", 1), "calibration_folds": ("≥", 0), "threshold_folds": ("≥", 0),
}


def _check_option(path: Path, name: str, value: Any, default: Any) -> None:
    """Refuse a ``[classifier]`` value of the wrong type or out of range, before any training."""
    todo = f"Fix [classifier] {name}"
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(where=path, problem=f"{name} must be true or false", seen=value, valid="true, false",
                              todo=todo)
        return
    if isinstance(default, (int, float)):
        kind = "a whole number" if isinstance(default, int) else "a number"
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (isinstance(default, int)
                                                                               and not isinstance(value, int)):
            raise ConfigError(where=path, problem=f"{name} must be {kind}", seen=value, valid=kind, todo=todo)
        op, bound = _BOUNDS.get(name, ("", 0))
        if (op == ">" and not value > bound) or (op == "≥" and not value >= bound):
            raise ConfigError(where=path, problem=f"{name} out of range", seen=value, valid=f"{kind} {op} {bound:g}",
                              todo=todo)
    if name == "char_ngram_range" and not (isinstance(value, list) and len(value) == 2
                                              and all(isinstance(v, int) and not isinstance(v, bool) and v >= 1
                                                      for v in value) and value[0] <= value[1]):
        raise ConfigError(where=path, problem=f"{name} must be [smallest n, largest n]", seen=value,
                          valid="two whole numbers >= 1, the first no larger than the second", todo=todo)


def build_classifier(cfg: dict[str, Any]) -> StrategyClassifier:
    params: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v  # TOML arrays
                              for k, v in cfg["classifier"].items()}
    return StrategyClassifier(**params, random_state=cfg["seed"])
