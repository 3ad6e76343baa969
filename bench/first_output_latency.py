"""Benchmark: from the click on Run of an `echo` block to the line visible in Chromium, vs a bare docker run.

    .venv/bin/python bench/first_output_latency.py [--pairs 10] [--cold]

Per pair, alternating which side goes first:
- platform: on the runbook page, click the block's Run button; time until the echoed line is in the
  execution page's output pane (form POST, execution_start, redirect, page load, WebSocket connect,
  the worker's container run, the chunk stored, published, pushed and swapped in by htmx);
- bare: `docker run --rm --network none <image> sh -c 'echo …'`; time until the line is on its stdout.
Prints both medians and the median per-pair ratio (target: 1.3 or less).

A real daphne and a real `manage.py worker` serve it (bench/live_stack.py), as in production,
with warm containers on (RUNBOOKS_WARM_CONTAINERS=1, the production default: the step claims a
started spare). --cold turns them off, so every step creates and starts its own container.
"""

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent))
from live_stack import IMAGE, LiveStack

LINE = "hello-first-output"


def bare_once() -> float:
    started = time.monotonic()
    process = subprocess.Popen(
        ["docker", "run", "--rm", "--network", "none", IMAGE, "sh", "-c", f"echo {LINE}"],
        stdout=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline()
    elapsed = time.monotonic() - started
    process.wait()
    assert line.strip() == LINE, line
    return elapsed


def platform_once(page, runbook: int) -> float:
    page.goto(f"/runbooks/{runbook}/")
    page.wait_for_selector("button.btn-run[value=main]")
    started = time.monotonic()
    page.click("button.btn-run[value=main]")
    page.wait_for_function(
        f"() => {{ const pre = document.querySelector(\"pre[id^='output-']\"); return pre && pre.textContent.includes('{LINE}'); }}",
        polling="raf",
    )
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=10)
    parser.add_argument("--cold", action="store_true", help="warm containers off: a new container per step")
    args = parser.parse_args()
    print(f"warm containers: {'off (--cold)' if args.cold else 'on'}", flush=True)
    with LiveStack(f"echo {LINE}", warm=not args.cold) as stack, sync_playwright() as playwright:
        browser, page = stack.signed_in_page(playwright)
        # Warm-up: the first page loads, the worker's first step (which leaves the first spare).
        platform_once(page, stack.runbook)
        bare_once()
        platform_times, bare_times, ratios = [], [], []
        for pair in range(args.pairs):
            if pair % 2 == 0:
                platform, bare = platform_once(page, stack.runbook), bare_once()
            else:
                bare, platform = bare_once(), platform_once(page, stack.runbook)
            platform_times.append(platform)
            bare_times.append(bare)
            ratios.append(platform / bare)
            print(f"pair {pair + 1:2d}: platform {platform * 1000:7.1f} ms   bare {bare * 1000:7.1f} ms", flush=True)
        browser.close()
    print(f"median platform (click → line visible): {statistics.median(platform_times) * 1000:.1f} ms")
    print(f"median bare docker run (start → line on stdout): {statistics.median(bare_times) * 1000:.1f} ms")
    print(f"median ratio (platform / bare) over {args.pairs} pairs: {statistics.median(ratios):.2f} (target ≤ 1.3)")


if __name__ == "__main__":
    main()
