"""The run inspector's page in headless Chromium (Debian's ``chromium`` and
``chromium-driver``, which ``scripts/ensure-services.sh`` installs), driven by Selenium:
served by a real server on 127.0.0.1 behind an API key, live while a run is in
progress, and as the file `trifecta inspect` writes, opened with the network off."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.fakes import INSPECTED, three_part
from tests.inspected import ask, serve_three_part
from trifecta.checkpoint import open_checkpointer
from trifecta.cli import main

CHROMIUM, DRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    """One headless Chromium for the module."""
    for path in (CHROMIUM, DRIVER):
        assert path.exists(), f"{path} is missing: run `bash scripts/ensure-services.sh`"
    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1280,1500", "--disable-extensions", "--no-first-run"):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(DRIVER)), options=options)
    driver.execute_cdp_cmd("Network.enable", {})
    try:
        yield driver
    finally:
        driver.quit()


def _nodes(driver: WebDriver) -> dict[str, str]:
    """Each DAG node's status class (read in one script: a live page swaps its content)."""
    found: list[list[str]] = driver.execute_script(
        "return Array.from(document.querySelectorAll('svg.dag g.node')).map("
        "g => [g.dataset.subtask, g.classList[1]])"
    )
    return dict(found)


def _bars(driver: WebDriver) -> dict[str, tuple[float, float]]:
    """Each subtask's bar on the timeline, as drawn: its left and right edge in pixels."""
    drawn: list[list[Any]] = driver.execute_script(
        "return Array.from(document.querySelectorAll('svg.gantt rect.bar')).map("
        "r => [r.dataset.subtask, r.getBoundingClientRect().left, r.getBoundingClientRect().right])"
    )
    return {str(s): (float(left), float(right)) for s, left, right in drawn}


def _check_page(driver: WebDriver, shot: Path) -> None:
    """The finished three-part run: three nodes by status, t1 and t2 overlapping on the
    timeline, t3 after t1; a click on t2 reveals its five attempts; no injected script ran."""
    WebDriverWait(driver, 10).until(lambda d: len(_nodes(d)) == 3)
    assert _nodes(driver) == {
        "t1": "status-verified",
        "t2": "status-checked",
        "t3": "status-verified",
    }
    bars = _bars(driver)
    assert bars["t1"][0] < bars["t2"][1] and bars["t2"][0] < bars["t1"][1]  # overlap
    assert bars["t3"][0] >= bars["t1"][1] - 1
    details = driver.find_element(By.ID, "subtask-t2")
    rows = details.find_elements(By.CSS_SELECTOR, "tr.attempt-row")
    assert details.get_attribute("open") is None and not any(r.is_displayed() for r in rows)
    driver.find_element(By.CSS_SELECTOR, 'svg.dag g.node[data-subtask="t2"]').click()
    WebDriverWait(driver, 5).until(lambda d: rows[0].is_displayed())
    verdicts = [r.find_element(By.CSS_SELECTOR, "td.verdict").text.split("\n")[0] for r in rows]
    assert verdicts == ["not applicable", "rejected", "rejected", "rejected", "checked"]
    assert driver.execute_script("return window.xss === undefined")
    assert "<script>window.xss=2</script>" in driver.find_element(By.CSS_SELECTOR, ".request").text
    driver.save_screenshot(str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_served_page_shows_the_plan_timeline_and_attempts(
    browser: WebDriver, tmp_path: Path
) -> None:
    with serve_three_part(tmp_path, api_keys=("k1",)) as url:
        ask(url, "three", "k1")
        browser.execute_cdp_cmd(
            "Network.setExtraHTTPHeaders", {"headers": {"Authorization": "Bearer k1"}}
        )
        try:
            browser.get(f"{url}/runs")
            browser.find_element(By.LINK_TEXT, "three").click()
            _check_page(browser, tmp_path / "served.png")
        finally:
            browser.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": {}})


def test_the_served_page_updates_live_while_the_run_goes_on(
    browser: WebDriver, tmp_path: Path
) -> None:
    gate = threading.Event()
    with serve_three_part(tmp_path, gate=gate) as url:
        asked = threading.Thread(target=ask, args=(url, "live"), daemon=True)
        asked.start()
        try:
            for _ in range(300):  # the run exists once its first checkpoint is written
                if httpx.get(f"{url}/runs/live.json").status_code == 200:
                    break
                threading.Event().wait(0.02)
            browser.get(f"{url}/runs/live")
            WebDriverWait(browser, 10).until(lambda d: _nodes(d).get("t2") == "status-running")
            main_element = browser.find_element(By.ID, "run")
            assert main_element.get_attribute("data-phase") == "running"
            browser.save_screenshot(str(tmp_path / "live.png"))
            gate.set()
            WebDriverWait(browser, 15).until(lambda d: _nodes(d).get("t2") == "status-checked")
            WebDriverWait(browser, 5).until(
                lambda d: d.find_element(By.ID, "run").get_attribute("data-live") == "0"
            )
            assert browser.find_element(By.ID, "run").get_attribute("data-phase") == "finished"
            assert _nodes(browser)["t3"] == "status-verified"
        finally:
            gate.set()
            asked.join(timeout=30)


def test_the_inspect_file_works_offline(browser: WebDriver, tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'cp.db'}"

    async def run() -> None:
        async with open_checkpointer(store) as saver:
            await three_part(saver).arun(INSPECTED, thread_id="three")

    asyncio.run(run())
    page = tmp_path / "run.html"
    assert main(["inspect", "three", "--checkpoint", store, "-o", str(page)]) == 0
    offline = {"offline": True, "latency": 0, "downloadThroughput": 0, "uploadThroughput": 0}
    browser.execute_cdp_cmd("Network.emulateNetworkConditions", offline)
    try:
        browser.get(page.as_uri())
        _check_page(browser, tmp_path / "file.png")
        fetched = browser.execute_script("return performance.getEntriesByType('resource').length")
        assert fetched == 0  # the page asked for nothing
    finally:
        online = {**offline, "offline": False, "downloadThroughput": -1, "uploadThroughput": -1}
        browser.execute_cdp_cmd("Network.emulateNetworkConditions", online)
