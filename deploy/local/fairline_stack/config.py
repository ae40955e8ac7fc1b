"""Where the local stack lives and which ports it uses (all overridable by env vars)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

POM_RELPATH = Path("deploy/local/kafka/pom.xml")
LOG4J_RELPATH = Path("deploy/local/kafka/log4j2.xml")

DEFAULT_KAFKA_PORT = 19092
DEFAULT_KAFKA_CONTROLLER_PORT = 19093
DEFAULT_PG_PORT = 15432
PG_USER = "fairline"
PG_DATABASE = "postgres"


class StackError(RuntimeError):
    """A failure whose message tells the developer what to do next."""


def project_root(start: Path | None = None) -> Path:
    """Find the repo root so the stack works from any subdirectory (or FAIRLINE_ROOT)."""
    env = os.environ.get("FAIRLINE_ROOT")
    if env:
        root = Path(env).expanduser().resolve()
        if not (root / POM_RELPATH).is_file():
            raise StackError(f"FAIRLINE_ROOT={env} has no {POM_RELPATH}: point it at the repo root")
        return root
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / POM_RELPATH).is_file():
            return candidate
    # Editable install: the package itself sits in <root>/deploy/local/fairline_stack.
    pkg_root = Path(__file__).resolve().parents[3]
    if (pkg_root / POM_RELPATH).is_file():
        return pkg_root
    raise StackError(
        f"cannot find the project root (a folder with {POM_RELPATH}) above {here}: "
        "run from inside the repo or set FAIRLINE_ROOT"
    )


def _port(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        port = int(raw)
    except ValueError:
        raise StackError(f"{name}={raw!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise StackError(f"{name}={port} is out of range 1-65535")
    return port


@dataclass(frozen=True)
class StackConfig:
    """Resolved locations and ports of one local stack."""

    root: Path
    local_dir: Path
    kafka_port: int = DEFAULT_KAFKA_PORT
    kafka_controller_port: int = DEFAULT_KAFKA_CONTROLLER_PORT
    pg_port: int = DEFAULT_PG_PORT

    @classmethod
    def from_env(cls) -> StackConfig:
        """Defaults plus FAIRLINE_* overrides, so parallel checkouts can avoid clashing."""
        root = project_root()
        local = os.environ.get("FAIRLINE_LOCAL_DIR")
        local_dir = Path(local).expanduser().resolve() if local else root / ".local"
        return cls(
            root=root,
            local_dir=local_dir,
            kafka_port=_port("FAIRLINE_KAFKA_PORT", DEFAULT_KAFKA_PORT),
            kafka_controller_port=_port(
                "FAIRLINE_KAFKA_CONTROLLER_PORT", DEFAULT_KAFKA_CONTROLLER_PORT
            ),
            pg_port=_port("FAIRLINE_PG_PORT", DEFAULT_PG_PORT),
        )

    @property
    def pom(self) -> Path:
        return self.root / POM_RELPATH

    @property
    def log4j_config(self) -> Path:
        return self.root / LOG4J_RELPATH

    @property
    def kafka_dir(self) -> Path:
        return self.local_dir / "kafka"

    @property
    def kafka_libs(self) -> Path:
        return self.kafka_dir / "libs"

    @property
    def postgres_dir(self) -> Path:
        return self.local_dir / "postgres"

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"

    @property
    def database_url(self) -> str:
        return f"postgresql://{PG_USER}@127.0.0.1:{self.pg_port}/{PG_DATABASE}"
