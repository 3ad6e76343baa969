"""Inline (htmx) forms that fail keep the page whole, in real Chromium, with DEBUG on and off.

In DEBUG, django-htmx's `{% htmx_script %}` adds its debug script, which replaced the whole
document with any 400 answer: the editor became a bare "This field is required." page.
"""

import pytest
from django.urls import reverse

from tests.support.browser import sign_in

pytestmark = pytest.mark.browser


@pytest.fixture(params=[True, False], ids=["debug", "production"])
def debug_mode(request, settings):
    # htmx_script reads settings.DEBUG at render time to add django-htmx's debug script; the
    # live server thread shares this process's settings.
    settings.DEBUG = request.param
    return request.param


def _add_command_block_with(page, *, script: str, timeout: str) -> None:
    page.click("form.add-block button[value=command]")
    form = page.locator("li[id^=block-new-] form")
    form.locator("textarea[name$=-script]").fill(script)
    form.locator("input[name$=-timeout_seconds]").fill(timeout)
    form.locator("input[name$=-key]").fill("bad key!")
    form.locator("button[type=submit]").click()


def test_an_invalid_block_form_fails_in_place_and_the_page_keeps_its_navigation(
    transactional_db, cast, page, debug_mode
):
    runbook = cast.runbook
    sign_in(page, "editor")
    page.goto(reverse("runbooks:detail", args=[runbook.pk]))
    if debug_mode:
        assert page.locator("script[src*='django-htmx.js']").count() == 1
    _add_command_block_with(page, script="", timeout="0")

    form = page.locator("li[id^=block-new-] form")
    form.locator(".errorlist li").first.wait_for()
    # The page is still the styled editor with its navigation, not a bare error document.
    assert page.locator("header.topbar nav.mainnav a", has_text="Runbooks").is_visible()
    assert page.locator("h1", has_text=runbook.title).is_visible()
    assert page.evaluate("getComputedStyle(document.querySelector('header.topbar')).display") == "flex"
    # Every field's error at once: key, script and timeout.
    fields = page.eval_on_selector_all(
        "li[id^=block-new-] .field-error :is(input, textarea, select)", "els => els.map(e => e.name.split('-').pop())"
    )
    assert {"key", "script", "timeout_seconds"} <= set(fields)
    assert runbook.blocks.count() == 2

    # Fixing the input in the same form saves it.
    form.locator("input[name$=-key]").fill("fixed")
    form.locator("textarea[name$=-script]").fill("echo ok")
    form.locator("input[name$=-timeout_seconds]").fill("30")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("li[data-key=fixed]")
    assert runbook.blocks.filter(key="fixed").exists()


def test_an_unknown_user_in_the_share_form_fails_in_place(transactional_db, cast, page, debug_mode):
    runbook = cast.runbook
    sign_in(page, "owner")
    page.goto(reverse("runbooks:share", args=[runbook.pk]))
    page.fill("#grant-name", "nobody-here")
    page.locator("#access button[type=submit]").last.click()
    page.locator("#access .field-error .errorlist").wait_for()
    assert "nobody-here" in page.inner_text("#access .field-error .errorlist")
    assert page.locator("header.topbar nav.mainnav").is_visible()
