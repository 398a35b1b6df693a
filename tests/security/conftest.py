"""The browser suite here uses the same Chromium and logged-in pages as tests/browser."""

from tests.browser.conftest import browser, staff_page  # noqa: F401 - fixtures
