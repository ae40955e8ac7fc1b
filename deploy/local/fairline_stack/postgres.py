"""A private PostgreSQL server for development: own data dir, own port, trust on loopback only."""

from __future__ import annotations

import os
import pwd
import re
import shlex
import shutil
import stat
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from ._proc import pid_alive, pid_cmdline, port_in_use, read_pid, tail
from .config import PG_DATABASE, PG_USER, StackError

Say = Callable[[str], None]

SERVER_OS_USER = "postgres"  # the OS account the server runs as when we are root
BOOTSTRAP_ROLE = "postgres"  # initdb's superuser; `fairline` is created from it
INSTALL_HINT = "install PostgreSQL 15+ (apt-get update && apt-get install -y postgresql)"
SOCKET_PATH_MAX = 100  # sun_path is 108 bytes incl. the ".s.PGSQL.<port>" name


def _quiet(_: str) -> None:
    pass


def _is_root() -> bool:
    return os.geteuid() == 0


def _pg_version(bin_dir: Path) -> tuple[int, ...]:
    match = re.search(r"(\d+)(?:\.(\d+))?", bin_dir.parent.name)
    return tuple(int(g) for g in match.groups() if g) if match else (0,)


def find_postgres_bin() -> Path | None:
    """The newest server bin dir (initdb + pg_ctl + postgres), or None when not installed."""
    wanted = ("initdb", "pg_ctl", "postgres", "psql")

    def complete(d: Path) -> bool:
        return all((d / name).is_file() for name in wanted)

    env = os.environ.get("FAIRLINE_PG_BIN")
    if env:
        d = Path(env).expanduser()
        if not complete(d):
            raise StackError(f"FAIRLINE_PG_BIN={env} lacks one of {', '.join(wanted)}")
        return d
    # Debian/Ubuntu keep server binaries off PATH, one dir per major version.
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_pg_version, reverse=True)
    for d in debian:
        if complete(d):
            return d
    for tool in ("pg_ctl", "initdb"):
        found = shutil.which(tool)
        if found and complete(Path(found).resolve().parent):
            return Path(found).resolve().parent
    return None


def ensure_postgres_installed(say: Say = _quiet) -> Path:
    """Return the server bin dir, installing Debian's postgresql package when it is missing."""
    found = find_postgres_bin()
    if found:
        return found
    apt = shutil.which("apt-get")
    if not apt:
        raise StackError(
            "PostgreSQL server binaries (initdb, pg_ctl) not found and there is no apt-get: "
            "install PostgreSQL 15+ with your package manager, or set FAIRLINE_PG_BIN"
        )
    prefix: list[str] = []
    if not _is_root():
        sudo = shutil.which("sudo")
        if not sudo:
            raise StackError(f"PostgreSQL is not installed and sudo is missing: {INSTALL_HINT}")
        prefix = [sudo]
    say("postgres: server not found, installing it with apt-get (first run only)…")
    env_cmd = ["env", "DEBIAN_FRONTEND=noninteractive"]  # survives sudo's env reset
    for args in (["update"], ["install", "-y", "--no-install-recommends", "postgresql"]):
        cmd = [*prefix, *env_cmd, apt, *args]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            out = (proc.stdout + proc.stderr).strip()[-3000:]
            raise StackError(f"`{shlex.join(cmd)}` failed:\n{out}\n{INSTALL_HINT} by hand")
    found = find_postgres_bin()
    if not found:
        raise StackError(
            f"apt-get installed postgresql but no server binaries turned up: {INSTALL_HINT}"
        )
    return found


class PostgresServer:
    """A PostgreSQL cluster in `data_dir`, reachable as DSN `postgresql://fairline@127.0.0.1:PORT`.

    As root the server runs as the `postgres` OS user (PostgreSQL refuses root);
    otherwise as the current user. Auth is `trust`, but only on the private socket
    and on 127.0.0.1, so the repo never holds a password.
    """

    def __init__(
        self, data_dir: Path, port: int, *, bin_dir: Path | None = None, say: Say = _quiet
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.port = port
        self._bin_dir = bin_dir
        self._say = say

    @property
    def dsn(self) -> str:
        return f"postgresql://{PG_USER}@127.0.0.1:{self.port}/{PG_DATABASE}"

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "pgdata"

    @property
    def socket_dir(self) -> Path:
        return self.data_dir / "run"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "postgres.log"

    @property
    def bin_dir(self) -> Path:
        if self._bin_dir is None:
            self._bin_dir = ensure_postgres_installed(self._say)
        return self._bin_dir

    def is_initialized(self) -> bool:
        return (self.pgdata / "PG_VERSION").is_file()

    # -- running things as the server's OS user ---------------------------------

    def _owner(self) -> pwd.struct_passwd | None:
        """The account that owns and runs the cluster when we are root (None otherwise)."""
        if not _is_root():
            return None
        try:
            return pwd.getpwnam(SERVER_OS_USER)
        except KeyError:
            raise StackError(
                f"running as root but there is no `{SERVER_OS_USER}` OS user to run the server: "
                f"{INSTALL_HINT} (it creates one), or run as a normal user"
            ) from None

    def _as_owner(self, cmd: list[str]) -> list[str]:
        if self._owner() is None:
            return cmd
        if shutil.which("runuser"):
            return ["runuser", "-u", SERVER_OS_USER, "--", *cmd]
        return ["su", SERVER_OS_USER, "-s", "/bin/sh", "-c", shlex.join(cmd)]

    def _run_owner(self, cmd: list[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self._as_owner(cmd),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
            cwd=self.data_dir,  # the owner may not be able to enter our cwd (e.g. /root)
            timeout=timeout,
            start_new_session=True,  # the daemon must not get our terminal's Ctrl-C
        )

    def _chown(self, path: Path) -> None:
        owner = self._owner()
        if owner is not None:
            os.chown(path, owner.pw_uid, owner.pw_gid)

    def _write(self, path: Path, text: str) -> None:
        path.write_text(text)
        self._chown(path)

    def _prepare_dirs(self) -> None:
        """Create our dirs, and as root make them reachable and owned by the server user."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(exist_ok=True)
        sock = self.socket_dir / f".s.PGSQL.{self.port}"
        if len(str(sock)) > SOCKET_PATH_MAX:
            raise StackError(
                f"socket path {sock} is too long for a unix socket: use a shorter data dir "
                "(FAIRLINE_LOCAL_DIR)"
            )
        owner = self._owner()
        if owner is None:
            return
        for parent in self.data_dir.parents:
            mode = parent.stat().st_mode
            if not mode & stat.S_IXOTH:
                os.chmod(parent, mode | stat.S_IXOTH)
                self._say(f"postgres: made {parent} traversable (o+x) for the postgres user")
        if self.data_dir.stat().st_uid != owner.pw_uid:
            for dirpath, dirnames, filenames in os.walk(self.data_dir):
                for name in (*dirnames, *filenames):
                    os.lchown(Path(dirpath) / name, owner.pw_uid, owner.pw_gid)
        for path, mode in ((self.data_dir, 0o755), (self.socket_dir, 0o700)):
            self._chown(path)
            path.chmod(mode)  # data_dir readable so `fairline-stack logs` works for anyone
        if not self.log_path.exists():
            self.log_path.touch()
        self._chown(self.log_path)

    def _initdb(self) -> None:
        self._say(f"postgres: initialising a cluster in {self.pgdata} (first run only)…")
        locales = subprocess.run(["locale", "-a"], capture_output=True, text=True, check=False)
        has_c_utf8 = re.search(r"^C\.(utf8|UTF-8)$", locales.stdout, re.MULTILINE)
        locale_args = ["--locale=C.UTF-8"] if has_c_utf8 else ["--no-locale"]
        proc = self._run_owner(
            [
                str(self.bin_dir / "initdb"),
                "-D",
                str(self.pgdata),
                "--encoding=UTF8",
                *locale_args,
                f"--username={BOOTSTRAP_ROLE}",
                "--auth=trust",
            ]
        )
        if proc.returncode != 0:
            raise StackError(
                f"initdb failed (exit {proc.returncode}):\n{(proc.stdout + proc.stderr)[-3000:]}\n"
                f"fix the cause, delete {self.pgdata} and rerun"
            )

    def _configure(self) -> None:
        """(Re)write our settings on every start, so port/env changes take effect."""
        self._write(
            self.pgdata / "fairline.conf",
            "# Written by fairline-stack on every start: edit postgres.py, not this file.\n"
            "listen_addresses = '127.0.0.1'\n"
            f"port = {self.port}\n"
            "max_connections = 300\n"
            "shared_buffers = 256MB\n"
            f"unix_socket_directories = '{self.socket_dir}'\n"
            "log_destination = 'stderr'\n"
            "logging_collector = off  # pg_ctl -l sends stderr to postgres.log\n"
            "log_line_prefix = '%m [%p] %q%u@%d '\n"
            "log_min_duration_statement = 1000\n"
            # per-statement calls and time, so the bench can say what a command costs the server
            "shared_preload_libraries = 'pg_stat_statements'\n"
            "pg_stat_statements.track = all\n"
            # every test makes its own databases, each statement counted per database
            "pg_stat_statements.max = 20000\n",
        )
        self._write(
            self.pgdata / "pg_hba.conf",
            "# Written by fairline-stack: trust, but only on the private socket and loopback.\n"
            "local   all          all                 trust\n"
            "host    all          all   127.0.0.1/32  trust\n"
            "local   replication  all                 trust\n"
            "host    replication  all   127.0.0.1/32  trust\n",
        )
        main_conf = self.pgdata / "postgresql.conf"
        include = "include_if_exists = 'fairline.conf'"
        if include not in main_conf.read_text():
            with main_conf.open("a") as fh:
                fh.write(f"\n# local dev settings managed by fairline-stack\n{include}\n")

    def _psql(self, sql: str, *, role: str, via_socket: bool) -> subprocess.CompletedProcess[str]:
        host = str(self.socket_dir) if via_socket else "127.0.0.1"
        env = {**os.environ, "PGCONNECT_TIMEOUT": "3"}
        env.pop("PGPASSWORD", None)
        return subprocess.run(
            [
                str(self.bin_dir / "psql"),
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                host,
                "-p",
                str(self.port),
                "-U",
                role,
                "-d",
                PG_DATABASE,
                "-c",
                sql,
            ],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
            env=env,
            timeout=30,
        )

    def _ensure_role(self) -> None:
        sql = (
            f"DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{PG_USER}') "
            f"THEN CREATE ROLE {PG_USER} SUPERUSER LOGIN; END IF; END$$;"
        )
        proc = self._psql(sql, role=BOOTSTRAP_ROLE, via_socket=True)
        if proc.returncode != 0:
            raise StackError(
                f"could not create role {PG_USER}: {proc.stderr.strip()}\n"
                f"check {self.log_path}; if the cluster in {self.pgdata} was not made by "
                "fairline-stack, stop it and delete that folder"
            )

    # -- lifecycle --------------------------------------------------------------

    def served_port(self) -> int | None:
        """The port the running server of this data directory listens on (postmaster.pid's
        fourth line), or None when it does not run."""
        if not self.is_running():
            return None
        try:
            return int((self.pgdata / "postmaster.pid").read_text().splitlines()[3])
        except (OSError, IndexError, ValueError):
            return None

    def refuse_other_port(self) -> None:
        """Refuse to treat a server of this data directory on another port as ours: its
        clients would be sent to a port nothing listens on (or another checkout's server)."""
        served = self.served_port()
        if served is not None and served != self.port:
            raise StackError(
                f"the PostgreSQL data directory {self.pgdata} is already served on port "
                f"{served} (pid {self.pid()}), not on {self.port}: set FAIRLINE_PG_PORT={served}"
                f" to use that server, or stop it first (FAIRLINE_PG_PORT={served} fairline-stack"
                " down) and start it again on the port you want"
            )

    def start(self) -> None:
        """initdb once, (re)write config, start with pg_ctl, ensure the `fairline` role."""
        self.refuse_other_port()
        if not self.is_running():
            self._prepare_dirs()
            if not self.is_initialized():
                self._initdb()
            self._configure()
            if port_in_use(self.port):
                raise StackError(
                    f"postgres port 127.0.0.1:{self.port} is already in use by another process: "
                    "stop it, or pick another port (FAIRLINE_PG_PORT for the local stack)"
                )
            proc = self._run_owner(
                [
                    str(self.bin_dir / "pg_ctl"),
                    "-D",
                    str(self.pgdata),
                    "-l",
                    str(self.log_path),
                    "-w",
                    "-t",
                    "60",
                    "-s",
                    "start",
                ]
            )
            if proc.returncode != 0:
                raise StackError(
                    f"pg_ctl start failed (exit {proc.returncode}): "
                    f"{(proc.stdout + proc.stderr).strip()}\n"
                    f"last lines of {self.log_path}:\n{tail(self.log_path)}\n"
                    "fix the cause above and start again"
                )
        self._ensure_role()

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Wait until the DSN itself works (TCP, role `fairline`), not just the socket."""
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            if not self.is_running():
                raise StackError(
                    f"postgres is not running. Last lines of {self.log_path}:\n"
                    f"{tail(self.log_path)}\nfix the cause and start it again"
                )
            proc = self._psql("SELECT 1", role=PG_USER, via_socket=False)
            if proc.returncode == 0:
                return
            last = proc.stderr.strip()
            time.sleep(0.3)
        raise StackError(
            f"postgres at {self.dsn} did not answer within {timeout:.0f}s ({last}). "
            f"Last lines of {self.log_path}:\n{tail(self.log_path)}"
        )

    def pid(self) -> int | None:
        """The postmaster's pid from postmaster.pid, if that process is alive."""
        pid = read_pid(self.pgdata / "postmaster.pid")
        if pid is None or not pid_alive(pid):
            return None
        argv = pid_cmdline(pid)
        return pid if argv and "postgres" in Path(argv[0]).name else None

    def is_running(self) -> bool:
        return self.pid() is not None

    def stop(self) -> None:
        """Fast shutdown: roll back open transactions, checkpoint, exit."""
        if not self.is_running():
            return
        proc = self._run_owner(
            [
                str(self.bin_dir / "pg_ctl"),
                "-D",
                str(self.pgdata),
                "-m",
                "fast",
                "-w",
                "-t",
                "60",
                "-s",
                "stop",
            ]
        )
        if proc.returncode != 0 and self.is_running():
            raise StackError(
                f"pg_ctl stop failed: {(proc.stdout + proc.stderr).strip()}\n"
                f"see {self.log_path}; as a last resort kill -9 {self.pid()} (it recovers on start)"
            )
