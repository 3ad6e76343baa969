"""The blocks editor and live search in real Chromium: the HTMX wiring the server-side tests cannot see."""

import pytest
from django.urls import reverse

from apps.runbooks.models import Runbook
from apps.runbooks.services.runbooks import runbook_create
from tests.support.browser import sign_in

pytestmark = pytest.mark.browser


def _keys(runbook) -> list[str]:
    return list(Runbook.objects.get(pk=runbook.pk).blocks.order_by("position").values_list("key", flat=True))


def test_an_editor_adds_edits_twice_moves_and_deletes_blocks_in_one_page(transactional_db, cast, page):
    runbook = cast.runbook
    sign_in(page, "editor")
    page.goto(reverse("runbooks:detail", args=[runbook.pk]))

    # Add a timer through the "Add block" menu; it replaces its form in place.
    page.click("form.add-block button[value=timer]")
    form = page.locator("li[id^=block-new-] form")
    form.locator("input[name$=-key]").fill("cool-down")
    form.locator("input[name$=-seconds]").fill("30")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("li[data-key=cool-down]")
    assert _keys(runbook) == ["intro", "restart", "cool-down"]

    # Two edits in a row on the same page: the second must carry the revision sent out of band.
    for seconds in ("40", "50"):
        page.click("li[data-key=cool-down] .block-actions button:has-text('Edit')")
        page.fill("li.editing input[name$=-seconds]", seconds)
        page.click("li.editing button:has-text('Save block')")
        page.wait_for_selector(f"li[data-key=cool-down] >> text=Wait {seconds} seconds")
    assert Runbook.objects.get(pk=runbook.pk).blocks.get(key="cool-down").config == {"seconds": 50}

    # An error comes back in place, inside the same form (a 400 that htmx must still swap).
    page.click("li[data-key=cool-down] .block-actions button:has-text('Edit')")
    page.fill("li.editing input[name$=-seconds]", "0")
    page.click("li.editing button:has-text('Save block')")
    page.wait_for_selector("li.editing .errorlist")
    page.click("li.editing button:has-text('Cancel')")
    page.wait_for_selector("li[data-key=cool-down] >> text=Wait 50 seconds")

    # Keyboard alternative to drag and drop.
    page.click("button[aria-label='Move cool-down up']")
    page.wait_for_function("() => document.querySelectorAll('#blocks > li')[1].dataset.key === 'cool-down'")
    assert _keys(runbook) == ["intro", "cool-down", "restart"]

    # Delete asks first (hx-confirm), then removes the element.
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("li[data-key=intro] button:has-text('Delete')")
    page.wait_for_selector("li[data-key=intro]", state="detached")
    assert _keys(runbook) == ["cool-down", "restart"]
    revision = Runbook.objects.get(pk=runbook.pk).revision
    assert page.input_value("#runbook-revision") == str(revision)


def test_drag_and_drop_reorders_the_blocks(transactional_db, cast, page):
    runbook = cast.runbook
    sign_in(page, "editor")
    page.goto(reverse("runbooks:detail", args=[runbook.pk]))
    page.locator("li[data-key=restart]").drag_to(page.locator("li[data-key=intro]"), target_position={"x": 20, "y": 5})
    page.wait_for_function("() => document.querySelector('#blocks > li').dataset.key === 'restart'")
    page.wait_for_function(
        f"() => document.getElementById('runbook-revision').value !== '{runbook.revision}'", timeout=10000
    )
    assert _keys(runbook) == ["restart", "intro"]


def test_live_search_filters_as_you_type_and_pushes_the_url(transactional_db, cast, page):
    runbook_create(user=cast.owner, title="Rotate TLS certificates", tags=["tls"])
    sign_in(page, "owner")
    page.goto(reverse("runbooks:list"))
    page.fill("#search-q", "rotate")
    page.wait_for_function("() => !document.getElementById('results').textContent.includes('Restart the payments')")
    assert "Rotate TLS certificates" in page.inner_text("#results")
    assert "q=rotate" in page.url


def test_the_description_preview_updates_while_typing(transactional_db, cast, page):
    sign_in(page, "owner")
    page.goto(reverse("runbooks:create"))
    page.fill("textarea[name=description]", "**loud** <script>window.pwned = 1</script>")
    page.wait_for_selector("#description-preview strong")
    assert page.inner_text("#description-preview strong") == "loud"
    assert page.evaluate("window.pwned") is None
