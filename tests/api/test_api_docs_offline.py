"""/docs and /redoc render in a real browser with no internet: their assets come from the api itself."""

import os
import shutil
import subprocess

import httpx
import pytest

from scripts.devstack import Service, free_port, start_api

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
pytestmark = pytest.mark.skipif(not shutil.which(CHROMIUM), reason="chromium is not installed (make chromium)")


@pytest.fixture(scope="module")
def api() -> Service:
    # /docs needs no worker: the api starts without one and answers its schema.
    service = start_api("docs-offline", free_port())
    yield service
    service.stop()


def rendered(url: str) -> str:
    """The page's DOM after its scripts ran, in headless chromium that can resolve no host but this one."""
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        # Offline: every name fails to resolve (a CDN such as cdn.jsdelivr.net included) but the api's address.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        "--virtual-time-budget=15000",
        "--dump-dom",
        url,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True).stdout


def test_swagger_ui_lists_the_routes_offline(api: Service) -> None:
    dom = rendered(f"http://127.0.0.1:{api.port}/docs")
    assert "swagger-ui" in dom
    for path in ("/generateimage", "/generateimage/stream", "/ready", "/health"):
        assert f'data-path="{path}"' in dom, f"{path} is not listed in Swagger UI"


def test_redoc_lists_the_routes_offline(api: Service) -> None:
    dom = rendered(f"http://127.0.0.1:{api.port}/redoc")
    for summary in ("Generate one image", "Readiness of the workers", "Liveness of the gateway"):
        assert summary in dom, f"ReDoc does not show {summary!r}"


def test_docs_assets_are_the_apis_own(api: Service) -> None:
    page = httpx.get(f"http://127.0.0.1:{api.port}/docs").text
    assert "cdn." not in page and "https://" not in page.split("<body>")[0]
