"""What the browser tests share: Debian's chromium through Playwright (no browser download), and a pen.

Import it after ``pytest.importorskip("playwright.sync_api")``: ``browser`` is a module-scoped fixture.
"""
import os
import shutil

import pytest
from playwright.sync_api import sync_playwright

CHROMIUM = next((p for p in (os.environ.get("NETFIT_CHROMIUM"), shutil.which("chromium"),
                             shutil.which("chromium-browser")) if p), None)
#: A browser test module's ``pytestmark``: one line says what to install (.ci/run installs it).
NEEDS_CHROMIUM = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium found (apt-get install chromium)")


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield chromium
        chromium.close()


def draw_seven(page, pad="#pad"):
    """Draw a 7 with the mouse on the canvas ``pad`` (a CSS selector), in proportion to its size (280: the playground's)."""
    box = page.locator(pad).bounding_box()
    x, y, scale = box["x"], box["y"], box["width"] / 280
    page.mouse.move(x + 70 * scale, y + 60 * scale)
    page.mouse.down()
    page.mouse.move(x + 210 * scale, y + 60 * scale, steps=8)
    page.mouse.move(x + 130 * scale, y + 230 * scale, steps=10)
    page.mouse.up()
