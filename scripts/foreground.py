"""Run `make run`'s process manager as the terminal's foreground job, so Ctrl-C stops it cleanly.

A terminal sends Ctrl-C's SIGINT to its whole foreground process group. GNU make is in that group:
whatever its recipe then does, make waits for it and kills itself with SIGINT (the shell sees 130),
and prints "make: *** [run] Error 130" when honcho exits 130, as honcho does after SIGINT. Started
in its own process group and given the terminal, as a job-control shell does with a job, honcho
alone receives Ctrl-C, stops web, worker and Redis, and make sees its recipe end normally.

Without a terminal, or when `make run` is a background job, the terminal is left alone; SIGINT and
SIGTERM sent to this wrapper (make passes SIGTERM on to its recipe) reach honcho all the same.

Usage: python scripts/foreground.py COMMAND [ARG…]; the exit status is COMMAND's, except that
"stopped as asked" (130 after SIGINT, 143 after SIGTERM) is 0.
"""

import os
import signal
import subprocess
import sys

STOPPED_AS_ASKED = (130, 143)


def _foreground_terminal() -> int | None:
    """The controlling terminal's descriptor when this process's group holds it, else None."""
    try:
        tty = os.open("/dev/tty", os.O_RDWR)
    except OSError:
        return None
    try:
        if os.tcgetpgrp(tty) == os.getpgrp():
            return tty
    except OSError:
        pass
    os.close(tty)
    return None


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    tty = _foreground_terminal()
    own_group = os.getpgrp()
    # Handing the terminal over and taking it back is done while not in the foreground group.
    signal.signal(signal.SIGTTOU, signal.SIG_IGN)
    child: list[subprocess.Popen] = []

    def forward(signum, frame) -> None:
        if child:
            try:
                os.killpg(child[0].pid, signum)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    child.append(subprocess.Popen(argv, process_group=0))
    if tty is not None:
        try:
            os.tcsetpgrp(tty, child[0].pid)
        except OSError:
            pass
    status = child[0].wait()
    if tty is not None:
        try:
            os.tcsetpgrp(tty, own_group)
        except OSError:
            pass
        os.close(tty)
    code = status if status >= 0 else 128 - status
    return 0 if code in STOPPED_AS_ASKED else code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
