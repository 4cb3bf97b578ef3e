"""What the dispatch benchmarks share: the provider servers in their own process, settings, planned
messages, senders through the official clients, a load generator for the servers' capacity, and tables.

Not part of the test suite; nothing here asserts a time.
"""

from __future__ import annotations

import base64
import dataclasses
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import Request, urlopen

from lifecycle.ops_store import ledger
from lifecycle.providers.sendgrid_email import SendGridEmailSender, SendGridSettings
from lifecycle.providers.twilio_sms import TwilioSettings, TwilioSmsSender
from lifecycle.settings import REPO_ROOT, Settings, load_settings

AS_OF = date(2026, 11, 20)
NOW = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
SECRET = "bench-unsubscribe-secret"
SMS_TEMPLATE = "nudge"
CONTEXT = {
    "plan_name": "Team (monthly)",
    "entry_reason": "You started a trial today.",
    "locale": "en-US",
    "note": "your trial ends in 3 days.",
}
CLIENT_TIMEOUT_S = 30.0


def sandbox_credentials() -> tuple[str, str, str]:
    """The servers' default credentials, imported late: ``lifecycle.provider_servers`` brings in
    FastAPI and openapi-core, which a measured dispatcher process should not carry."""
    from lifecycle.provider_servers import DEFAULT_ACCOUNT_SID, DEFAULT_API_KEY, DEFAULT_AUTH_TOKEN

    return DEFAULT_API_KEY, DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN


# -- the provider servers, in a process of their own ------------------------------------------------


class ProviderServers:
    """``python -m lifecycle.provider_servers`` as a child process (its own GIL), on free ports."""

    def __init__(self, latency_ms: float = 20.0, capacity_rps: float | None = None) -> None:
        self.latency_ms = latency_ms
        self.capacity_rps = capacity_rps
        self.process: subprocess.Popen[str] | None = None
        self.sendgrid_url = self.twilio_url = ""

    def __enter__(self) -> ProviderServers:
        command = [sys.executable, "-m", "lifecycle.provider_servers", "--sendgrid-port", "0"]
        command += ["--twilio-port", "0", "--latency-ms", str(self.latency_ms)]
        if self.capacity_rps:
            command += ["--capacity-rps", str(self.capacity_rps)]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=REPO_ROOT)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"provider servers did not start (exit {self.process.wait()})")
        summary = json.loads(line)
        self.sendgrid_url, self.twilio_url = summary["sendgrid_url"], summary["twilio_url"]
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def reset(self) -> None:
        """Forget accepted messages and the request log (the servers keep both in memory)."""
        for url in (self.sendgrid_url, self.twilio_url):
            with urlopen(Request(f"{url}/_sandbox/reset", data=b"", method="POST"), timeout=60) as answer:
                answer.read()

    def cpu_seconds(self) -> float:
        """User + system CPU the server process has used so far."""
        assert self.process is not None
        return process_cpu_seconds(self.process.pid)

    def email_sender_factory(self) -> Callable[[], SendGridEmailSender]:
        settings = SendGridSettings(
            api_key=sandbox_credentials()[0], host=self.sendgrid_url, timeout_s=CLIENT_TIMEOUT_S
        )
        return lambda: SendGridEmailSender(settings)

    def sms_sender_factory(self) -> Callable[[], TwilioSmsSender]:
        _, account_sid, auth_token = sandbox_credentials()
        settings = TwilioSettings(account_sid, auth_token, self.twilio_url, timeout_s=CLIENT_TIMEOUT_S)
        return lambda: TwilioSmsSender(settings)


def process_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


# -- settings and messages --------------------------------------------------------------------------


def bench_settings(workdir: Path, ops_db_url: str | None = None) -> Settings:
    """The repository's templates plus an SMS template, a signing secret and a store under ``workdir``."""
    templates = workdir / "templates"
    if not templates.exists():
        shutil.copytree(REPO_ROOT / "include" / "templates", templates)
        (templates / "sms").mkdir(exist_ok=True)
        (templates / "sms" / f"{SMS_TEMPLATE}.txt.j2").write_text(
            "{{ sender_name }}: hi {{ first_name }}, {{ note }} Reply STOP to opt out."
        )
    return dataclasses.replace(
        load_settings(),
        templates_dir=templates,
        unsubscribe_secret=SECRET,
        ops_db_url=ops_db_url or f"sqlite:///{workdir / 'ops.sqlite'}",
    )


def email_message(i: int, sequence: str = "welcome") -> ledger.PlannedMessage:
    return _planned(i, sequence, "email", "welcome_day_0", f"user{i}@example.com")


def sms_message(i: int, sequence: str = "trial") -> ledger.PlannedMessage:
    return _planned(i, sequence, "sms", SMS_TEMPLATE, f"+614{i:08d}")  # Australian mobile numbers


def _planned(i: int, sequence: str, channel: str, template: str, recipient: str) -> ledger.PlannedMessage:
    return ledger.PlannedMessage(
        message_key=f"{sequence}:C{i:07d}:{AS_OF}:day_0",
        enrollment_id=f"{sequence}:C{i:07d}:{AS_OF}",
        customer_id=f"C{i:07d}",
        contact_id=f"P{i:07d}",
        sequence=sequence,
        step="day_0",
        channel=channel,
        template=template,
        recipient=recipient,
        time_zone="America/New_York",
        context={**CONTEXT, "first_name": f"User{i}"},
        as_of_date=AS_OF,
        send_after=NOW - timedelta(hours=1),
    )


# -- the servers' own capacity ------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class VendorRequest:
    """One pre-built vendor request, sent as is by the load generator."""

    url: str
    path: str
    body: bytes
    headers: dict[str, str]


def sendgrid_request(base_url: str, body: dict[str, Any]) -> VendorRequest:
    headers = {"Authorization": f"Bearer {sandbox_credentials()[0]}", "Content-Type": "application/json"}
    return VendorRequest(base_url, "/v3/mail/send", json.dumps(body).encode(), headers)


def twilio_request(base_url: str, form: bytes) -> VendorRequest:
    _, account_sid, auth_token = sandbox_credentials()
    token = base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode()
    headers = {"Authorization": f"Basic {token}", "Content-Type": "application/x-www-form-urlencoded"}
    return VendorRequest(base_url, f"/2010-04-01/Accounts/{account_sid}/Messages.json", form, headers)


@dataclasses.dataclass(frozen=True)
class LoadResult:
    ok: int
    refused: int
    seconds: float
    server_cpu_s: float

    @property
    def requests_per_s(self) -> float:
        return self.ok / self.seconds


def saturate(
    servers: ProviderServers, request: VendorRequest, clients: int, seconds: float, warmup_s: float = 1.0
) -> LoadResult:
    """``clients`` keep-alive connections sending ``request`` back to back; counts the 2xx answers that
    arrive inside the measured window (``seconds`` long, after ``warmup_s`` to fill the pipeline)."""
    split = urlsplit(request.url)
    start_at = time.monotonic() + warmup_s
    stop_at = start_at + seconds
    counts = {"ok": 0, "refused": 0}
    lock = threading.Lock()

    def client() -> None:
        connection = http.client.HTTPConnection(split.hostname, split.port, timeout=CLIENT_TIMEOUT_S)
        ok = refused = 0
        try:
            while time.monotonic() < stop_at:
                connection.request("POST", request.path, body=request.body, headers=request.headers)
                answer = connection.getresponse()
                answer.read()
                if start_at <= time.monotonic() < stop_at:
                    if 200 <= answer.status < 300:
                        ok += 1
                    else:
                        refused += 1
        finally:
            connection.close()
            with lock:
                counts["ok"] += ok
                counts["refused"] += refused

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    time.sleep(max(0.0, start_at - time.monotonic()))
    cpu_before = servers.cpu_seconds()
    time.sleep(max(0.0, stop_at - time.monotonic()))
    cpu_after = servers.cpu_seconds()
    for thread in threads:
        thread.join()
    return LoadResult(counts["ok"], counts["refused"], seconds, cpu_after - cpu_before)


# -- output -----------------------------------------------------------------------------------------


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table (also readable on a terminal)."""
    cells = [[str(h) for h in headers]] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |" for row in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}" if value >= 10 else f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def revision() -> str:
    """The commit measured, and whether the package had uncommitted changes."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "plugins"], cwd=REPO_ROOT, capture_output=True, text=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown revision"
    return f"{head}{' + uncommitted changes in plugins/' if dirty else ''}"


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()[0]
    return (
        f"{os.cpu_count()} cores ({model}), load average {load:.2f} at start, "
        f"Python {sys.version.split()[0]}, revision {revision()}"
    )
