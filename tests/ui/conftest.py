"""The browser tests' page: Chromium on the app that the test module's ``app_url`` fixture runs."""
from __future__ import annotations

import pytest

from tests.ui.browser_app import chromium_page


@pytest.fixture()
def page(app_url):
    with chromium_page(app_url) as tab:
        yield tab
