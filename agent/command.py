"""Running device commands (termux-*, mmcli) with a hard timeout and no leftovers."""

from __future__ import annotations

import os
import signal
import subprocess


class CommandFailed(Exception):
    """A device command could not run, timed out, or exited non-zero."""


def run_command(argv: list[str], timeout_s: float) -> str:
    """Run a device command and return its stdout.

    Termux:API commands are shell scripts whose helper binary waits for the
    Android app; on a timeout the whole process group is killed so no helper
    is left behind holding the pipe, cycle after cycle.
    """
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as exc:
        raise CommandFailed(f"{argv[0]}: cannot run ({exc.strerror or exc})") from None
    try:
        out, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise CommandFailed(f"{argv[0]}: no answer within {timeout_s:g} s") from None
    if proc.returncode != 0:
        detail = err.decode(errors="replace").strip().splitlines()
        reason = detail[-1] if detail else f"exit status {proc.returncode}"
        raise CommandFailed(f"{argv[0]}: {reason}")
    return out.decode(errors="replace")
