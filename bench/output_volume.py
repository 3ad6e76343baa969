"""Benchmark: a step printing 200,000 lines — stored up to the cap, truncation marked, worker memory bounded.

    .venv/bin/python bench/output_volume.py [--lines 200000]

The step prints N lines of about 45 bytes (`seq 1 N | sed 's/^/PREFIX/'`, 8.8 MB for 200,000
lines, well past the 2 MiB cap) in the busybox image through the engine, in a child process that plays the
worker (so its peak RSS, read with getrusage(RUSAGE_CHILDREN) once it exits, is the worker's alone),
against a throwaway SQLite database in a temporary directory (see command_overhead.py). It checks
that the stored output is exactly the cap's worth, that output_truncated is set and that every byte
was counted, then prints the worker's peak RSS (target: under 200 MB) and the time against
`docker run --rm <image> sh -c '<the same script>' | wc -l`.
"""

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from command_overhead import IMAGE, django_setup, flush_queue, make_runbook

PREFIX = "output line of the volume benchmark: "


def script(lines: int) -> str:
    return f"seq 1 {lines} | sed 's/^/{PREFIX}/'"


def child(workdir: Path, lines: int) -> None:
    """The worker side: start the run through the service and run its job here, then report."""
    django_setup(workdir)
    flush_queue()
    # Imported after django_setup(): the apps need the settings it chose and a loaded app registry.
    from django.conf import settings

    from apps.executions.jobs import run_execution
    from apps.executions.models import Execution
    from apps.executions.services.start import execution_start

    user, runbook = make_runbook(script(lines))
    started = time.perf_counter()
    execution = execution_start(runbook=runbook, user=user)
    run_execution(execution.pk)
    elapsed = time.perf_counter() - started
    execution = Execution.objects.get(pk=execution.pk)
    step = execution.steps.get()
    stored = sum(len(data.encode()) for data in step.chunks.values_list("data", flat=True))
    flush_queue()
    print(
        json.dumps(
            {
                "status": execution.status,
                "seconds": elapsed,
                "stored_bytes": stored,
                "chunks": step.chunks.count(),
                "output_bytes": step.output_bytes,
                "output_truncated": step.output_truncated,
                "cap": settings.RUNBOOKS_OUTPUT_CAP_BYTES,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(Path(args.child), args.lines)
        return
    workdir = Path(tempfile.mkdtemp(prefix="runbooks-bench-"))
    try:
        result = subprocess.run(
            [sys.executable, __file__, "--lines", str(args.lines), "--child", str(workdir)],
            capture_output=True,
            text=True,
            check=True,
        )
        # ru_maxrss of waited-for children, in KiB on Linux: the worker process's peak.
        peak_rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        report = json.loads(result.stdout.strip().splitlines()[-1])
        expected_bytes = sum(len(f"{PREFIX}{number}\n") for number in range(1, args.lines + 1))
        docker = shutil.which("docker") or "docker"
        started = time.perf_counter()
        bare = subprocess.run(
            f'{docker} run --rm --network none {IMAGE} sh -c "{script(args.lines)}" | wc -l',
            shell=True,  # a fixed pipeline of our own: the point of the comparison
            capture_output=True,
            text=True,
            check=True,
        )
        bare_seconds = time.perf_counter() - started
        assert int(bare.stdout.strip()) == args.lines
        assert report["status"] == "succeeded", report
        assert report["stored_bytes"] == min(report["cap"], expected_bytes), report
        assert report["output_truncated"] is (expected_bytes > report["cap"]), report
        assert report["output_bytes"] == expected_bytes, report
        print(f"lines printed: {args.lines:,} ({expected_bytes:,} bytes)")
        print(f"stored: {report['stored_bytes']:,} bytes in {report['chunks']} chunks (cap {report['cap']:,})")
        print(f"output_truncated: {report['output_truncated']}; counted: {report['output_bytes']:,} bytes")
        print(f"worker peak RSS: {peak_rss_mb:.1f} MB (target < 200 MB)")
        print(f"platform: {report['seconds']:.2f} s; docker run … | wc -l: {bare_seconds:.2f} s")
        print(f"ratio (platform / bare): {report['seconds'] / bare_seconds:.2f}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
