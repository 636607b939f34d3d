"""Training configs: ``extends`` (a variant states only what it changes) and its errors."""

import pytest

from pipeline.config import CONFIG_DIR
from pipeline.errors import ConfigError, InputFileError
from pipeline.model.config import load_config


def test_extends_starts_from_the_named_config_and_overrides_it(tmp_path):
    (tmp_path / "base.toml").write_text("seed = 7\n[classifier]\nC = 3.0\nuse_lemmas = false\n", encoding="utf-8")
    (tmp_path / "variant.toml").write_text('extends = "base.toml"\n[classifier]\nC = 5.0\n', encoding="utf-8")
    cfg = load_config(tmp_path / "variant.toml")
    assert cfg["seed"] == 7 and cfg["classifier"] == {"C": 5.0, "use_lemmas": False}
    assert cfg["extends"] == "base.toml" and cfg["path"] == str(tmp_path / "variant.toml")
    (tmp_path / "seeded.toml").write_text('extends = "variant.toml"\nseed = 1\n', encoding="utf-8")
    assert load_config(tmp_path / "seeded.toml")["seed"] == 1  # a chain, with this file's seed
    assert load_config(tmp_path / "seeded.toml")["classifier"]["C"] == 5.0


def test_the_shipped_fast_config_extends_the_shipped_one():
    fast = load_config(CONFIG_DIR / "train_fast.toml")
    assert fast["extends"] == "train.toml"
    assert fast["classifier"] == {**load_config(None)["classifier"], "japanese_tokenizer": "multilingual"}


@pytest.mark.parametrize("text,problem", [
    ('extends = 3\n', "extends must name a config file (got 3)"),
    ('extends = "loop.toml"\n', "too many configs extend each other (a loop?)"),
])
def test_a_bad_extends_is_one_config_error_naming_the_file(tmp_path, text, problem):
    cfg = tmp_path / "loop.toml"
    cfg.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(cfg)
    assert f"{cfg}: {problem}" in str(err.value)


def test_an_option_error_in_the_base_names_the_base(tmp_path):
    (tmp_path / "base.toml").write_text('[classifier]\nmeta_weight = "two"\n', encoding="utf-8")
    (tmp_path / "v.toml").write_text('extends = "base.toml"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path / "v.toml")
    assert str(err.value).startswith(f"{tmp_path / 'base.toml'}: meta_weight must be a number")


def test_a_missing_base_is_a_file_error_naming_it(tmp_path):
    (tmp_path / "v.toml").write_text('extends = "nope.toml"\n', encoding="utf-8")
    with pytest.raises(InputFileError) as err:
        load_config(tmp_path / "v.toml")
    assert str(tmp_path / "nope.toml") in str(err.value) and "not found" in str(err.value)
