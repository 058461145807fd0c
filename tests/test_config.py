"""Configuration precedence and errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from trifecta import Budget, ConfigError, Limits, Trifecta, load_config
from trifecta.config import ServerSettings
from trifecta.models import Capabilities, Price
from trifecta.routing import tier_info


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
    with pytest.raises(ConfigError, match="invalid configuration: modle: unknown key"):
        load_config(bad, env={})
    broken = tmp_path / "broken.toml"
    broken.write_text("model = \n")
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(broken, env={})
    with pytest.raises(ConfigError, match=r"invalid configuration: limits\.nope: unknown key"):
        load_config(env={}, limits={"max_subtasks": 1, "nope": 2})


def test_out_of_range_values_and_odd_inputs_are_config_errors(tmp_path: Path) -> None:
    cases = {
        "[prices]\nm = {input = nan}": "prices.m.input_per_mtok: Input should be a finite number",
        "[prices]\nm = {input = -1.0}": "greater than or equal to 0",
        "[budget]\nmax_tokens = -5": "budget.max_tokens: Input should be greater than or equal to 0",
        "[budget]\nmax_cost_usd = inf": "budget.max_cost_usd: Input should be a finite number",
        "[limits]\nmax_subtasks = -1": "limits.max_subtasks: Input should be greater than or equal to 1",
        "timeout_s = 0": "timeout_s: Input should be greater than 0",
        'sensitive_patterns = ["(("]': "sensitive_patterns: '((' is not a regular expression",
        'server = "x"': "server: Input should be",
    }
    for toml, problem in cases.items():
        path = tmp_path / "trifecta.toml"
        path.write_text(toml + "\n")
        with pytest.raises(ConfigError) as info:
            load_config(path, env={"TRIFECTA_API_KEYS": "k1"})
        assert problem in str(info.value), (toml, str(info.value))
    (tmp_path / "latin1.toml").write_bytes(b'model = "caf\xe9"\n')
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(tmp_path / "latin1.toml", env={})
    with pytest.raises(ConfigError, match="TRIFECTA_API_KEYS holds no key"):
        load_config(env={"TRIFECTA_API_KEYS": " , "})
    with pytest.raises(ConfigError, match=r"budget\.max_tokens: Input should be a valid integer"):
        load_config(env={}, budget=Budget(max_tokens="lots"))  # type: ignore[arg-type]
    keys = load_config(env={}, server=ServerSettings(api_keys=["k"])).server.api_keys  # type: ignore[arg-type]
    assert keys == ("k",)


@pytest.mark.parametrize(
    ("toml", "problem"),
    [
        ('privacy = "lcoal"', "privacy: Input should be 'local' or 'cloud' (got 'lcoal')"),
        ('structured_output = "jsn"', "structured_output: Input should be 'json_schema'"),
        ('[models.a]\nprivacy = "public"', "models.a.privacy: Input should be 'local' or 'cloud'"),
        ('[models.a]\nstructured_output = "xml"', "models.a.structured_output: Input should be"),
        (
            '[models.a]\ncontext_window = "big"',
            "models.a.context_window: Input should be a valid integer",
        ),
        ("[limits]\nmax_subtasks = 1.5", "limits.max_subtasks: Input should be a valid integer"),
        ('[budget]\nmax_tokens = "x"', "budget.max_tokens: Input should be a valid integer"),
        ("[models.a]\nprice = {input = 1, outptu = 2}", "a price is {input = …, output = …}"),
        (
            '[prices]\nm = {input = "cheap"}',
            "prices.m.input_per_mtok: Input should be a valid number",
        ),
    ],
)
def test_values_are_validated_with_their_types(tmp_path: Path, toml: str, problem: str) -> None:
    path = tmp_path / "trifecta.toml"
    path.write_text(toml + "\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    assert problem in str(info.value)


def test_a_registry_model_declares_its_capabilities(tmp_path: Path) -> None:
    path = tmp_path / "trifecta.toml"
    path.write_text(
        '[models.small]\nbase_url = "http://127.0.0.1:9/v1"\nprivacy = "local"\n'
        "context_window = 8192\nlatency_s = 0.4\nprice = {input = 0.1, output = 0.2}\n"
    )
    app = Trifecta.from_config(load_config(path, env={}))
    (model,) = {t.model for s in app.specialists for t in s.tiers if hasattr(t, "model")}
    assert model.capabilities == Capabilities("local", Price(0.1, 0.2), 8192, 0.4, "openai")
    assert tier_info(1, app.specialists[0].tiers[1]).capabilities == model.capabilities
