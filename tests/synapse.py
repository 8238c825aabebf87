"""A real Synapse homeserver for tests and benchmarks (matrix-synapse from PyPI).

``Synapse(folder).start()`` generates a config once, layers a test override file on it (no
key servers, rate limits raised, bcrypt_rounds 4, a free loopback port), starts the server
and waits for ``/health``. Users are registered through the shared-secret admin API.
``stop()`` sends SIGTERM to the server's PID; ``restart()`` keeps the database.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

SERVER_NAME = "localhost"
HIGH = {"per_second": 1000, "burst_count": 1000}
UPLOAD_LIMIT_MB = 10


def server_environment() -> dict[str, str]:
    """The server runs on the real clock even when a test run fakes it (faketime)."""
    return {
        key: value
        for key, value in os.environ.items()
        if key != "LD_PRELOAD" and not key.startswith(("FAKETIME", "DONT_FAKE"))
    }


def pause(seconds: float) -> None:
    """Sleep without time.sleep (which faketime's absolute-time sleeps can break)."""
    select.select([], [], [], seconds)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def overrides(port: int, folder: Path) -> dict[str, Any]:
    return {
        "listeners": [
            {
                "port": port,
                "bind_addresses": ["127.0.0.1"],
                "type": "http",
                "tls": False,
                "x_forwarded": False,
                "resources": [{"names": ["client"], "compress": False}],
            }
        ],
        "trusted_key_servers": [],
        "suppress_key_server_warning": True,
        "report_stats": False,
        "presence": {"enabled": False},
        "bcrypt_rounds": 4,
        "enable_registration": False,
        "max_upload_size": f"{UPLOAD_LIMIT_MB}M",
        "url_preview_enabled": False,
        "caches": {"sync_response_cache_duration": 0},
        "rc_message": HIGH,
        "rc_registration": HIGH,
        "rc_login": {"address": HIGH, "account": HIGH, "failed_attempts": HIGH},
        "rc_joins": {"local": HIGH, "remote": HIGH},
        "rc_joins_per_room": HIGH,
        "rc_invites": {"per_room": HIGH, "per_user": HIGH, "per_issuer": HIGH},
        "rc_room_creation": HIGH,
        "rc_media_create": HIGH,
        "rc_profile": HIGH,
        "rc_presence": {"per_user": HIGH},
        "rc_key_requests": HIGH,
        "rc_3pid_validation": HIGH,
        "rc_user_directory": HIGH,
        "rc_delayed_event_mgmt": HIGH,
        "rc_reports": HIGH,
        "rc_federation": {"window_size": 1000, "sleep_limit": 1000, "reject_limit": 1000},
        "media_store_path": str(folder / "media_store"),
    }


@dataclass
class Account:
    user_id: str
    password: str
    access_token: str
    device_id: str


class Synapse:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self._secret = ""
        self._log = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def config(self) -> Path:
        return self.folder / "homeserver.yaml"

    def _generate(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        if not self.config.exists():
            generate = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "synapse.app.homeserver",
                    "--server-name",
                    SERVER_NAME,
                    "--config-path",
                    str(self.config),
                    "--data-directory",
                    str(self.folder),
                    "--generate-config",
                    "--report-stats=no",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                cwd=self.folder,
                env=server_environment(),
            )
            deadline = time.monotonic() + 60
            while generate.poll() is None and time.monotonic() < deadline:
                pause(0.05)
            if generate.poll() is None:
                generate.kill()
            if generate.wait() != 0 or not self.config.exists():
                raise RuntimeError("synapse could not generate its configuration")
        generated = yaml.safe_load(self.config.read_text())
        self._secret = str(generated["registration_shared_secret"])
        (self.folder / "test-overrides.yaml").write_text(
            json.dumps(overrides(self.port, self.folder))
        )

    def start(self, timeout: float = 60.0) -> None:  # noqa: ASYNC109
        self._generate()
        self._log = (self.folder / "stdout.log").open("ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "synapse.app.homeserver",
                "-c",
                str(self.config),
                "-c",
                str(self.folder / "test-overrides.yaml"),
            ],
            cwd=self.folder,
            env=server_environment(),
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"synapse exited with {self.proc.returncode}: {self.tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as response:
                    if response.read() == b"OK":
                        return
            except (urllib.error.URLError, OSError):
                pass
            pause(0.1)
        raise TimeoutError(f"synapse did not become healthy: {self.tail()}")

    def tail(self, lines: int = 30) -> str:
        log = self.folder / "homeserver.log"
        if not log.exists():
            return ""
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, timeout: float = 20.0) -> None:  # noqa: ASYNC109
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while proc.poll() is None and time.monotonic() < deadline:
                pause(0.05)
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                while proc.poll() is None:
                    pause(0.05)
        if self._log is not None:
            self._log.close()
            self._log = None

    def restart(self) -> None:
        """Stop and start again on the same port and database."""
        self.stop()
        self.start()

    # --- admin API -------------------------------------------------------------------

    def _call(
        self, method: str, path: str, body: dict[str, Any] | None = None, token: str = ""
    ) -> dict[str, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.url}{path}", data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        with urllib.request.urlopen(request, timeout=20) as response:
            result: dict[str, Any] = json.loads(response.read() or b"{}")
            return result

    def register(self, username: str, password: str = "", *, admin: bool = False) -> Account:
        """A user through the shared-secret admin API (HMAC-SHA1 over a one-use nonce)."""
        password = password or f"pw-{username}-0123456789"
        nonce = self._call("GET", "/_synapse/admin/v1/register")["nonce"]
        message = b"\x00".join(
            [
                nonce.encode(),
                username.encode(),
                password.encode(),
                b"admin" if admin else b"notadmin",
            ]
        )
        mac = hmac.new(self._secret.encode(), message, hashlib.sha1).hexdigest()
        answer = self._call(
            "POST",
            "/_synapse/admin/v1/register",
            {
                "nonce": nonce,
                "username": username,
                "password": password,
                "admin": admin,
                "mac": mac,
            },
        )
        return Account(answer["user_id"], password, answer["access_token"], answer["device_id"])

    def limit_messages(self, admin: Account, user_id: str, per_second: int, burst: int) -> None:
        """Leave the server's real message rate limiter low for one user."""
        self._call(
            "POST",
            f"/_synapse/admin/v1/users/{user_id}/override_ratelimit",
            {"messages_per_second": per_second, "burst_count": burst},
            token=admin.access_token,
        )
