"""Regenerate docs/screenshot.png (the runbook list), docs/screenshot-runbook.png (a runbook) and
docs/screenshot-first-screen.png (what a staff member who sees no runbook yet is shown).

    .venv/bin/python docs/screenshots.py

Starts a dev server on a free port (never 8000) against a throwaway SQLite database and var/
directory seeded by `seed_demo`, signs in as the demo admin with headless Chromium (Playwright,
Debian's /usr/bin/chromium or CHROMIUM_PATH) and saves the two pages. Nothing in the checkout's
var/ is touched. REDIS_URL defaults to 127.0.0.1:6379 database 9, so a job the pages enqueue can
never reach the test suite's database 15.
"""

import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PYTHON = sys.executable
sys.path.insert(0, str(ROOT))  # run as a script from docs/: the checkout's packages are not on the path yet

from tests.support.browser import CHROMIUM_ARGS  # noqa: E402 - the one list of Chromium's flags, after the path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_up(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)  # noqa: S310 - our own http://127.0.0.1 URL
            return
        except urllib.error.HTTPError:
            return  # /healthz answers 503 without a worker: the server is up all the same.
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"The dev server did not answer at {url}")


def sign_in(page, username: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def main() -> None:
    var_dir = Path(tempfile.mkdtemp(prefix="runbooks-screenshots-"))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "runbooks_site.settings.dev",
        "RUNBOOKS_VAR_DIR": str(var_dir),
        "DATABASE_URL": f"sqlite:///{var_dir / 'db.sqlite3'}",
        "REDIS_URL": os.environ.get("SCREENSHOT_REDIS_URL", "redis://127.0.0.1:6379/9"),
        "LOG_LEVEL": "WARNING",
    }
    for command in (["migrate", "--noinput"], ["seed_demo"]):
        subprocess.run([PYTHON, "manage.py", *command], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    password = (var_dir / "demo_admin_password").read_text().strip()
    # Staff without a role on any runbook: they get the first screen, as on an empty install.
    newcomer_password = secrets.token_urlsafe(12)
    newcomer = (
        "import os; from django.contrib.auth import get_user_model; get_user_model().objects.create_user("
        "username='newcomer', password=os.environ['NEWCOMER_PASSWORD'], is_staff=True)"
    )
    subprocess.run(
        [PYTHON, "manage.py", "shell", "-c", newcomer],
        cwd=ROOT,
        env={**env, "NEWCOMER_PASSWORD": newcomer_password},
        check=True,
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [PYTHON, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_up(f"{base}/healthz")
        from playwright.sync_api import sync_playwright

        executable = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
            page = browser.new_page(base_url=base, viewport={"width": 1280, "height": 800})
            sign_in(page, "admin", password)
            page.goto("/runbooks/")
            page.screenshot(path=str(DOCS / "screenshot.png"), full_page=True)
            page.click("text=Restart a stuck web service")
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(DOCS / "screenshot-runbook.png"), full_page=True)
            # A new page is a new browser context: its own cookies, so a separate sign-in.
            page = browser.new_page(base_url=base, viewport={"width": 1280, "height": 640})
            sign_in(page, "newcomer", newcomer_password)
            page.goto("/runbooks/")
            page.screenshot(path=str(DOCS / "screenshot-first-screen.png"), full_page=True)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(f"Saved screenshot.png, screenshot-runbook.png and screenshot-first-screen.png in {DOCS} (data in {var_dir})")


if __name__ == "__main__":
    main()
