#!/usr/bin/env python3
"""Runs a command as the reaper of every process it leaves behind: subreaper.py CMD [ARGS...]

NSD forks (its first process starts "main", which starts the server), and when a benchmark script
stops NSD's process group the orphans are handed to PID 1, which in containers often never reaps
them: zombies pile up. With PR_SET_CHILD_SUBREAPER set here they come to us instead and are
reaped. SIGINT, SIGTERM and SIGHUP are passed on to the command, whose exit status is ours.
"""

import ctypes
import os
import signal
import sys
import time

PR_SET_CHILD_SUBREAPER = 36  # <linux/prctl.h>
GRACE_SECONDS = 5


def children_of(pid):
    """Processes whose parent is `pid` (adopted orphans included)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry))
    return found


def reap_all():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return True
        if pid == 0:
            return False


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: subreaper.py CMD [ARGS...]")
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        print("subreaper: prctl failed; zombies may be left behind", file=sys.stderr)
    command = os.fork()
    if command == 0:
        os.execvp(sys.argv[1], sys.argv[1:])
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda s, _frame: os.kill(command, s))

    status = 0
    while True:
        try:
            pid, wait_status = os.wait()
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        if pid == command:
            status = os.waitstatus_to_exitcode(wait_status)
            break

    # The command has ended; it should have stopped all it started. Whatever is left (it was
    # killed before its cleanup ran) gets a grace period, then SIGKILL.
    deadline = time.monotonic() + GRACE_SECONDS
    while not reap_all() and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid in children_of(os.getpid()):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    while not reap_all() and time.monotonic() < deadline + 1:
        time.sleep(0.05)
    sys.exit(status if status >= 0 else 128 - status)


if __name__ == "__main__":
    main()
