"""Stopping a server started in its own session (process group), for the Python tools
(bench/peer.py and the trace test tests/otel/spin_otlp_test.py): SIGTERM to the group,
then SIGKILL when it has not exited in time."""
import os
import signal
import subprocess


def stop_group(p: subprocess.Popen, timeout: float = 15) -> None:
    """Stops the process group led by `p` (started with start_new_session=True)."""
    if p.poll() is not None:
        return
    try:
        os.killpg(p.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
