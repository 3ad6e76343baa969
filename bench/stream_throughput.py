"""Benchmark: lines per second reaching Chromium while a step prints 200,000 lines, vs `docker run … | wc -l`.

    .venv/bin/python bench/stream_throughput.py [--lines 200000]

The block runs `seq 1 N` (1.3 MB for 200,000 lines: under the 2 MiB cap, so every line is stored).
Measured:
- lines/s reaching the browser: lines carried by the socket's chunk fragments (their data-lines),
  counted in the page, from the click on Run to the last chunk's arrival;
- the same command through `docker run --rm --network none <image> sh -c 'seq 1 N' | wc -l`;
- that every line is stored (the chunks joined are exactly `seq 1 N`);
- the page's responsiveness: the longest gap between 50 ms timer ticks while it streams, and the
  number of lines left in the DOM (the page keeps the last 5,000);
- peak RSS of the worker (its largest process; the worker runs jobs in-process, its tree adds
  nothing but a forked work horse if the worker class is changed back) and of daphne, sampled
  from /proc every 100 ms, plus their VmHWM at the end.
"""

import argparse
import subprocess
import sys
import threading
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent))
from live_stack import IMAGE, LiveStack, largest_rss_kib, peak_rss_kib, tree_rss_kib

COUNTER = """
window.__bench = {lines: 0, first: 0, last: 0, maxGap: 0, tick: performance.now()};
document.addEventListener('htmx:wsBeforeMessage', (event) => {
  let lines = 0;
  for (const match of event.detail.message.matchAll(/data-lines="(\\d+)"/g)) lines += Number(match[1]);
  if (lines) {
    const now = Date.now();
    window.__bench.lines += lines;
    // Stalls are counted from the first chunk on: page load is not what this measures.
    if (!window.__bench.first) { window.__bench.first = now; window.__bench.maxGap = 0; }
    window.__bench.last = now;
  }
});
setInterval(() => {
  const now = performance.now();
  window.__bench.maxGap = Math.max(window.__bench.maxGap, now - window.__bench.tick - 50);
  window.__bench.tick = now;
}, 50);
"""

STORED = """
from apps.executions.models import Execution
execution = Execution.objects.order_by("-pk").first()
step = execution.steps.get()
text = "".join(step.chunks.order_by("seq").values_list("data", flat=True))
print("STORED", execution.status, step.next_seq, step.output_truncated, text == "".join(f"{{n}}\\n" for n in range(1, {lines} + 1)))
"""


def bare(lines: int) -> float:
    started = time.monotonic()
    result = subprocess.run(
        f"docker run --rm --network none {IMAGE} sh -c 'seq 1 {lines}' | wc -l",
        shell=True,
        capture_output=True,
        text=True,
        check=True,
    )
    elapsed = time.monotonic() - started
    assert int(result.stdout.strip()) == lines, result.stdout
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=200_000)
    args = parser.parse_args()
    with LiveStack(f"seq 1 {args.lines}") as stack, sync_playwright() as playwright:
        worker, daphne = stack.processes["worker"].pid, stack.processes["daphne"].pid
        peaks = {"worker": 0, "worker tree": 0, "daphne": 0}
        sampling = True

        def sample() -> None:
            while sampling:
                peaks["worker"] = max(peaks["worker"], largest_rss_kib(worker))
                peaks["worker tree"] = max(peaks["worker tree"], tree_rss_kib(worker))
                peaks["daphne"] = max(peaks["daphne"], tree_rss_kib(daphne))
                time.sleep(0.1)

        browser, page = stack.signed_in_page(playwright)
        page.add_init_script(COUNTER)
        page.goto(f"/runbooks/{stack.runbook}/")
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        clicked = time.time() * 1000
        page.click("button.btn-run[value=main]")
        page.wait_for_selector("#execution-status[data-final='1']", timeout=300000)
        page.wait_for_function(f"() => window.__bench.lines >= {args.lines}", timeout=60000)
        sampling = False
        sampler.join()
        bench = page.evaluate("window.__bench")
        dom_lines = page.eval_on_selector("pre[id^='output-']", "pre => (pre.textContent.match(/\\n/g) || []).length")
        last_line = page.eval_on_selector("pre[id^='output-']", "pre => pre.textContent.trimEnd().split('\\n').pop()")
        browser.close()
        hwm_worker, hwm_daphne = peak_rss_kib(worker), peak_rss_kib(daphne)
        stored = stack.manage("shell", "-c", STORED.format(lines=args.lines)).split("STORED", 1)[1].split()

    platform_seconds = (bench["last"] - clicked) / 1000
    bare_seconds = bare(args.lines)
    print(f"lines printed: {args.lines:,}; reached the browser: {bench['lines']:,}")
    print(f"stored: status {stored[0]}, {stored[1]} chunks, truncated {stored[2]}, every line stored: {stored[3]}")
    print(
        f"platform: click → last line in the browser {platform_seconds:.2f} s = {args.lines / platform_seconds:,.0f} lines/s"
    )
    print(f"bare: docker run … | wc -l {bare_seconds:.2f} s = {args.lines / bare_seconds:,.0f} lines/s")
    print(f"ratio (platform time / bare time): {platform_seconds / bare_seconds:.2f}")
    print(
        f"page: {dom_lines:,} lines kept in the DOM (last one {last_line!r}); longest main-thread stall while streaming {bench['maxGap']:.0f} ms"
    )
    print(
        f"peak RSS sampled: worker's largest process {peaks['worker'] / 1024:.1f} MB "
        f"(its whole process tree {peaks['worker tree'] / 1024:.1f} MB), daphne {peaks['daphne'] / 1024:.1f} MB"
    )
    print(f"VmHWM at the end: worker tree largest {hwm_worker / 1024:.1f} MB, daphne {hwm_daphne / 1024:.1f} MB")


if __name__ == "__main__":
    main()
