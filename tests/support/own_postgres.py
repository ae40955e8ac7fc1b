"""A throwaway PostgreSQL server of a test's own, to kill without hurting anyone else.

The shared server of `make stack` serves every other test (and other checkouts): a test that
crashes a database starts its own, with the project's own helpers, on a free port in
FAIRLINE_FAULTS_PORTS (49100-49199 unless set) and in a fresh data directory.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from fairline_stack._proc import port_in_use
from fairline_stack.postgres import PostgresServer


def port_range() -> range:
    first, _, last = os.environ.get("FAIRLINE_FAULTS_PORTS", "49100-49199").partition("-")
    return range(int(first), int(last or first) + 1)


def free_port_in_range(taken: set[int] | None = None) -> int:
    """A port of FAIRLINE_FAULTS_PORTS nobody listens on (and this run did not hand out)."""
    for port in port_range():
        if port not in (taken or set()) and not port_in_use(port):
            if taken is not None:
                taken.add(port)
            return port
    raise RuntimeError(
        f"no free port in {port_range()}: stop what listens there or set "
        "FAIRLINE_FAULTS_PORTS=first-last"
    )


def server_processes(server: PostgresServer) -> list[int]:
    """The postmaster and every backend and helper it forked (each child is a session leader
    of its own, so the process group does not find them: their parent does)."""
    pid = server.pid()
    if pid is None:
        return []
    found = [pid]
    for entry in Path("/proc").iterdir():
        try:
            status = (entry / "status").read_text() if entry.name.isdigit() else ""
        except OSError:
            continue
        if f"\nPPid:\t{pid}\n" in status:
            found.append(int(entry.name))
    return found


def crash(server: PostgresServer, within: float = 10.0) -> None:
    """SIGKILL the whole server at once, as a power cut or an OOM kill of its container
    would: no checkpoint, no goodbye to clients; the next start replays the WAL."""
    pids = server_processes(server)
    for pid in pids:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    # Until init reaps them, the dead still answer kill(pid, 0), and the next postmaster
    # would take the old lock files for a live server's.
    deadline = time.monotonic() + within
    while any(Path(f"/proc/{p}").exists() for p in pids):
        if time.monotonic() > deadline:
            raise RuntimeError(f"PostgreSQL processes {pids} outlived SIGKILL for {within}s")
        time.sleep(0.05)


def restart(server: PostgresServer) -> None:
    server.start()
    server.wait_ready(timeout=60)


@contextmanager
def own_postgres(port: int | None = None) -> Iterator[PostgresServer]:
    """A fresh server, stopped and deleted when the block ends."""
    data_dir = Path(tempfile.mkdtemp(prefix="fl-pg-"))  # short: the socket path is limited
    if os.geteuid() == 0:
        data_dir.chmod(0o755)
    server = PostgresServer(data_dir, port or free_port_in_range())
    try:
        restart(server)
        yield server
    finally:
        try:
            server.stop()
        finally:
            shutil.rmtree(data_dir, ignore_errors=True)
