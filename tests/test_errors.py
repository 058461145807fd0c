"""One error hierarchy: every deliberate error is a `TrifectaError`; the CLI maps user
errors to exit 2 and run errors to exit 3, and client errors are wrapped at the boundary."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest

from tests.net import free_port
from trifecta.cli import main
from trifecta.errors import RunError, TrifectaError, UserError
from trifecta.models import Message, ModelError, OpenAIChatModel


def _package_exceptions() -> dict[str, type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    names = ["trifecta"]
    for package in ("trifecta", "trifecta.agents", "trifecta.specialists", "trifecta.graphs"):
        path = importlib.import_module(package).__path__  # agents/ etc. live outside trifecta/
        names += [package] + [i.name for i in pkgutil.walk_packages(path, package + ".")]
    for dotted in dict.fromkeys(names):
        module = importlib.import_module(dotted)
        for name, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == module.__name__
            ):
                found[f"{module.__name__}.{name}"] = value
    return found


def test_every_exception_the_package_defines_is_a_trifecta_error() -> None:
    found = _package_exceptions()
    assert len(found) >= 19 and "trifecta.config.ConfigError" in found
    outside = sorted(name for name, cls in found.items() if not issubclass(cls, TrifectaError))
    assert outside == []
    assert issubclass(found["trifecta.config.ConfigError"], UserError)
    assert issubclass(found["trifecta.models._base.ModelTimeout"], RunError)
    assert issubclass(UserError, ValueError) and issubclass(RunError, RuntimeError)


def test_a_missing_api_key_is_a_user_error_not_an_openai_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_ADMIN_KEY"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(UserError, match=r"model 'gpt-4o': .*api_key"):
        OpenAIChatModel("gpt-4o")


async def test_client_errors_become_model_errors() -> None:
    model = OpenAIChatModel("m", base_url=f"http://127.0.0.1:{free_port()}/v1", max_retries=0)
    with pytest.raises(ModelError, match="m: APIConnectionError"):
        await model.complete([Message("user", "hi")])


def test_cli_exit_codes_tell_bad_input_from_a_failed_part(
    corrupt_model: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "   ", "--data-dir", str(tmp_path)]) == 2
    assert "error: the request is empty" in capsys.readouterr().err
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("The refund window is 30 days.")
    code = main(
        ["run", "What is the refund window?", "--docs", str(docs), "--data-dir", str(tmp_path)]
    )
    assert code == 3
    assert f"{corrupt_model}, expected" in (err := capsys.readouterr().err)
    assert "reinstall: pip install 'trifecta[rag]'" in err
