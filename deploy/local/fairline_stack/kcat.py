"""kcat, the independent Kafka client, able to authenticate to the local broker.

Debian 12's kcat links librdkafka 2.0.2, whose SCRAM client repeats the client nonce in its
final message; Kafka 4 checks the nonce strictly (RFC 5802) and refuses it as "invalid
credentials" (fixed in librdkafka 2.6.1, confluentinc/librdkafka#4895). When the installed
librdkafka is older, `ensure_librdkafka` takes a current one from the confluent-kafka wheel
on PyPI (it bundles librdkafka with its own OpenSSL) into .tools/librdkafka/, and
`kcat_env` puts it first on the library path. kcat itself stays Debian's.

    python -m fairline_stack.kcat     # what `make test-tools` runs
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from fairline_events.kafka import KafkaAccess

from .config import StackError, project_root

MIN_LIBRDKAFKA = (2, 6, 1)
WHEEL = "confluent-kafka==2.12.2"  # bundles librdkafka 2.12.1


def kcat_binary() -> str:
    found = shutil.which("kcat")
    if not found:
        raise StackError("kcat is not installed: run `make test-tools` (Debian's kcat package)")
    return found


def librdkafka_version(env: dict[str, str] | None = None) -> tuple[int, ...]:
    out = subprocess.run(
        [kcat_binary(), "-V"], capture_output=True, text=True, env=env, timeout=30, check=False
    ).stdout
    match = re.search(r"librdkafka (\d+)\.(\d+)\.(\d+)", out)
    if not match:
        raise StackError(f"cannot tell kcat's librdkafka version from: {out.strip()[:200]}")
    return tuple(int(p) for p in match.groups())


def library_dir(root: Path | None = None) -> Path:
    return (root or project_root()) / ".tools" / "librdkafka"


def kcat_env(root: Path | None = None) -> dict[str, str]:
    """The environment to run kcat in: a fetched librdkafka first, when there is one."""
    env = dict(os.environ)
    lib = library_dir(root)
    if (lib / "librdkafka.so.1").exists():
        env["LD_LIBRARY_PATH"] = os.pathsep.join(
            p for p in (str(lib), env.get("LD_LIBRARY_PATH", "")) if p
        )
    return env


def sasl_args(kafka: KafkaAccess) -> list[str]:
    """kcat's -X options for `kafka`'s identity (none for PLAINTEXT)."""
    args = ["-X", f"security.protocol={kafka.security_protocol.lower()}"]
    if kafka.security_protocol.startswith("SASL"):
        args += [
            "-X",
            f"sasl.mechanisms={kafka.sasl_mechanism}",
            "-X",
            f"sasl.username={kafka.username}",
            "-X",
            f"sasl.password={kafka.password}",
        ]
    if kafka.ssl_cafile:
        args += ["-X", f"ssl.ca.location={kafka.ssl_cafile}"]
    return args


def ensure_librdkafka(root: Path | None = None) -> Path | None:
    """A librdkafka that speaks SCRAM to Kafka 4 for kcat; None when the system's does."""
    if librdkafka_version() >= MIN_LIBRDKAFKA:
        return None
    lib = library_dir(root)
    if (lib / "librdkafka.so.1").exists() and librdkafka_version(kcat_env(root)) >= MIN_LIBRDKAFKA:
        return lib
    print(f"setup: kcat's librdkafka is too old for SCRAM on Kafka 4; fetching {WHEEL}")
    wheels = lib.parent / "wheels"
    shutil.rmtree(wheels, ignore_errors=True)
    pip = [str(lib.parent / "bin" / "pip")]
    if not Path(pip[0]).exists():
        pip = [sys.executable, "-m", "pip"]
    machine = {"amd64": "x86_64", "arm64": "aarch64"}.get(platform.machine().lower())
    machine = machine or platform.machine()
    subprocess.run(
        [
            *pip,
            "download",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--only-binary",
            ":all:",
            "--python-version",
            "3.11",
            "--platform",
            f"manylinux_2_28_{machine}",
            WHEEL,
            "-d",
            str(wheels),
        ],
        check=True,
    )
    shutil.rmtree(lib, ignore_errors=True)
    lib.mkdir(parents=True)
    (wheel,) = wheels.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            # the bundled librdkafka and the libraries it links (auditwheel-renamed)
            if name.startswith("confluent_kafka.libs/") and ".so" in name:
                target = lib / Path(name).name
                target.write_bytes(archive.read(name))
    (bundled,) = lib.glob("librdkafka-*.so*")
    (lib / "librdkafka.so.1").symlink_to(bundled.name)
    shutil.rmtree(wheels, ignore_errors=True)
    version = librdkafka_version(kcat_env(root))
    if version < MIN_LIBRDKAFKA:
        raise StackError(f"the fetched librdkafka is {version}, still too old")
    print(f"setup: kcat uses librdkafka {'.'.join(map(str, version))} from {lib}")
    return lib


if __name__ == "__main__":
    try:
        ensure_librdkafka()
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
