"""Configuration precedence and errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from trifecta import Budget, ConfigError, Limits, load_config
from trifecta.models import Price


def test_defaults_are_offline(tmp_path: Path) -> None:
    config = load_config(env={}, data_dir=tmp_path)
    assert config.model is None
    assert config.checkpoint_url == f"sqlite:///{tmp_path / 'checkpoints.sqlite'}"


def test_file_then_env_then_arguments(tmp_path: Path) -> None:
    path = tmp_path / "trifecta.toml"
    path.write_text(
        'model = "from-file"\nbase_url = "http://file/v1"\ncheckpoint = "memory"\n'
        "[prices.from-file]\ninput = 0.5\noutput = 1.5\n"
        "[budget]\nmax_tokens = 1000\n[limits]\nmax_subtasks = 8\n"
    )
    config = load_config(path, env={"OPENAI_BASE_URL": "http://env/v1"}, model="from-arg")
    assert (config.model, config.base_url, config.checkpoint_url) == (
        "from-arg",
        "http://env/v1",
        "memory",
    )
    assert config.prices["from-file"] == Price(0.5, 1.5)
    assert config.budget == Budget(max_tokens=1000) and config.limits == Limits(max_subtasks=8)


def test_unknown_key_and_bad_file_are_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('modle = "typo"\n')
    with pytest.raises(ConfigError, match="unknown config keys: modle"):
        load_config(bad, env={})
    broken = tmp_path / "broken.toml"
    broken.write_text("model = \n")
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(broken, env={})
    with pytest.raises(ConfigError, match="invalid configuration"):
        load_config(env={}, limits={"max_subtasks": 1, "nope": 2})
