"""A warm `bab run` for the fault tests: Bab is imported once, then each "start" line read on stdin forks a
fresh `bab run` (a process of its own, with its own event loop, connections and state) and prints its pid.

The tests SIGKILL those children at random moments; forking from here spares each restart the second or two of
imports, so thirty kills fit in a test run. Children are reaped as they die (SIGCHLD ignored).
"""

from __future__ import annotations

import os
import signal
import sys

import bot.app  # noqa: F401  (the expensive imports, once)
import bot.cli

signal.signal(signal.SIGCHLD, signal.SIG_IGN)
for line in sys.stdin:
    if line.strip() != "start":
        continue
    pid = os.fork()
    if pid == 0:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        # Not the parent's pipes: the test reads pids from stdout, and a child holding it open would keep the
        # pipe from closing after the parent exits.
        quiet = os.open(os.devnull, os.O_RDWR)
        for stream in (0, 1, 2):
            os.dup2(quiet, stream)
        os._exit(bot.cli.main(["run"]))
    print(pid, flush=True)
