"""The directory served exactly as a newcomer starts it: `make run` on a temporary instance.

Several test packages (smoke, browser, README examples) meet the directory the way people and
integrations do, through this one server: the same command as the README's first line, gunicorn
with two workers, a fresh instance folder and a free port.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
DEMO_PASSWORD = "directory-demo"
START_TIMEOUT = 180.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class ServedDirectory:
    """A running `make run`: its URL, its instance folder and the environment it was started with."""

    url: str
    instance: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    log: Path
    worker_pids: set[int] = field(default_factory=set)

    def __call__(self, path: str = "/") -> str:
        return self.url + path

    def cli(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run the `directory` command against this instance (as the README's examples do)."""
        return subprocess.run([str(VENV_BIN / "directory"), *args], env=self.env, cwd=ROOT,
                              capture_output=True, text=True, input=input, timeout=120)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def start(folder: Path, *, workers: int = 2, extra_env: dict[str, str] | None = None) -> ServedDirectory:
    """`make run HOST=127.0.0.1 PORT=<free>` with the instance in `folder`; waits until it answers."""
    port = free_port()
    instance = folder / "instance"
    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "INDEX_DIR", "SECRET_KEY", "SITE_URL", "DIRECTORY_AUTH"}}
    env.update({"DIRECTORY_INSTANCE": str(instance)})
    env.update(extra_env or {})
    log = folder / "make-run.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["make", "--no-print-directory", "run", "HOST=127.0.0.1", f"PORT={port}", f"WORKERS={workers}"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    served = ServedDirectory(f"http://127.0.0.1:{port}", instance, env, process, log)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"`make run` exited with {process.returncode}:\n{served.log_text()[-4000:]}")
        try:
            with urllib.request.urlopen(served("/healthz"), timeout=2) as answer:
                if answer.status == 200:
                    return served
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.3)
    stop(served)
    raise RuntimeError(f"`make run` did not answer within {START_TIMEOUT:.0f} s:\n{served.log_text()[-4000:]}")


def stop(served: ServedDirectory) -> None:
    """End `make run` and everything it started (its process group)."""
    if served.process.poll() is None:
        try:
            os.killpg(served.process.pid, signal.SIGTERM)
            served.process.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(served.process.pid, signal.SIGKILL)
            served.process.wait(timeout=10)


def wait_for(check: Callable[[], Any], what: str, timeout: float, detail: Callable[[], str] = str) -> Any:
    """`check()`'s first true value, tried every 0.2 s; the test fails, saying `what` (and
    `detail()`, such as the server's log), when none comes within `timeout` seconds."""
    import pytest

    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout:.0f} s\n{detail()}")
        time.sleep(0.2)
