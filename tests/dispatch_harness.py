"""Helpers for the dispatch robustness tests: planned datasets, observed provider servers, a webhook
receiver on real HTTP, and dispatcher processes that can be SIGKILLed at chosen moments.

Dispatcher processes come in two kinds, both real processes running ``python -m lifecycle dispatch``:

- ``exec``: a fresh interpreter (``subprocess.Popen([python, "-m", "lifecycle", "dispatch", ...])``).
  Starting one costs about 5 s of CPU (Airflow's import alone is 3 s), so a test cannot afford a
  hundred of them on two cores.
- ``fork``: a fork server (``python -m tests.dispatch_harness fork-server``) imports what the CLI
  imports once, then forks a child per run that executes the ``lifecycle`` package's ``__main__``
  with the given argv and environment (``runpy``, as ``python -m`` does). The child is a separate
  process with its own database connections, sockets and threads, killed by the kernel like any
  other; only the interpreter start-up is shared.
"""

from __future__ import annotations

import argparse
import contextlib
import contextvars
import importlib
import json
import os
import random
import runpy
import selectors
import shutil
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import phonenumbers
import sqlalchemy as sa

from lifecycle.ops_store.ledger import PlannedMessage
from lifecycle.ops_store.schema import messages
from lifecycle.provider_servers import (
    DEFAULT_ACCOUNT_SID,
    DEFAULT_API_KEY,
    DEFAULT_AUTH_TOKEN,
    FaultConfig,
    SendGridServer,
    TwilioServer,
)
from lifecycle.provider_servers import faults as f
from lifecycle.provider_servers.base import ACCEPTED
from lifecycle.provider_servers.runner import ServerThread
from lifecycle.settings import Settings
from lifecycle.webhooks import create_app

REPO_ROOT = Path(__file__).resolve().parents[1]
AS_OF = date(2026, 11, 20)
UNSUBSCRIBE_SECRET = "dispatch-harness-unsubscribe-secret"
EMAIL_TEMPLATE = "cross_sell_day_0"
SMS_TEMPLATE = "nudge"
SMS_TEMPLATE_TEXT = (
    "{{ sender_name }}: hi {{ first_name }}, your {{ plan_name }} trial ends soon. Reply STOP to opt out."
)
SEND_AFTER_MARGIN = timedelta(hours=1)  # planned messages are due an hour before "now"

# ----------------------------------------------------------------------------------------------------
# Planned datasets
# ----------------------------------------------------------------------------------------------------


def planned_email(
    namespace: str, i: int, contents: int, send_after: datetime, as_of: date = AS_OF
) -> PlannedMessage:
    """One cross-sell email. The add-on's price cycles over ``contents`` values and the template formats
    it (so it cannot travel as a substitution, unlike the name, company and reason): a claim of n
    messages makes about ``contents`` SendGrid requests (batches share identical content)."""
    customer = f"{namespace}C{i:06d}"
    return PlannedMessage(
        message_key=f"cross_sell:{customer}:{as_of}:day_0",
        enrollment_id=f"cross_sell:{customer}:{as_of}",
        customer_id=customer,
        contact_id=f"{namespace}P{i:06d}",
        sequence="cross_sell",
        step="day_0",
        channel="email",
        template=EMAIL_TEMPLATE,
        recipient=f"{namespace.lower()}.user{i}@example.com",
        time_zone="Australia/Sydney",
        context={
            "first_name": f"User{i}",
            "company_name": f"Company {i}",
            "recommended_addon_id": "automation_addon",
            "recommended_addon_name": "Workflow Automation",
            "addon_monthly_price": 20.0 + i % contents,
            "need_signal": f"used automation {i % 97} times in the last 28 days",
            "entry_reason": f"Since your team used automation {i % 97} times in the last 28 days.",
            "locale": "en-AU",
        },
        as_of_date=as_of,
        send_after=send_after,
    )


def planned_sms(
    namespace: str, i: int, phone: str, send_after: datetime, as_of: date = AS_OF
) -> PlannedMessage:
    customer = f"{namespace}S{i:06d}"
    return PlannedMessage(
        message_key=f"welcome:{customer}:{as_of}:day_5_sms",
        enrollment_id=f"welcome:{customer}:{as_of}",
        customer_id=customer,
        contact_id=f"{namespace}Q{i:06d}",
        sequence="welcome",
        step="day_5_sms",
        channel="sms",
        template=SMS_TEMPLATE,
        recipient=phone,
        time_zone="Australia/Sydney",
        context={"first_name": f"User{i}", "plan_name": "Team"},
        as_of_date=as_of,
        send_after=send_after,
    )


def australian_mobiles(n: int, seed: int) -> list[str]:
    """``n`` distinct +61 4xx xxx xxx numbers that ``phonenumbers`` classifies as mobile."""
    rng = random.Random(seed)
    numbers: list[str] = []
    seen: set[str] = set()
    for _ in range(n * 20):
        if len(numbers) == n:
            break
        candidate = f"+614{rng.randrange(10_000_000, 100_000_000)}"
        parsed = phonenumbers.parse(candidate, None)
        if (
            candidate not in seen
            and phonenumbers.is_valid_number(parsed)
            and phonenumbers.number_type(parsed) == phonenumbers.PhoneNumberType.MOBILE
        ):
            seen.add(candidate)
            numbers.append(candidate)
    if len(numbers) != n:
        raise RuntimeError(f"only {len(numbers)} valid Australian mobile numbers drawn, wanted {n}")
    return numbers


def make_templates(directory: Path) -> Path:
    """The project's templates plus an SMS template (the repository has no SMS template yet)."""
    shutil.copytree(REPO_ROOT / "include" / "templates", directory)
    (directory / "sms").mkdir(exist_ok=True)
    (directory / "sms" / f"{SMS_TEMPLATE}.txt.j2").write_text(SMS_TEMPLATE_TEXT)
    return directory


@dataclass(frozen=True)
class LedgerRow:
    message_key: str
    channel: str
    state: str
    error_code: str | None
    error_reason: str | None
    attempts: int
    claimed_by: str | None
    provider_message_id: str | None


def ledger_rows(engine: sa.Engine) -> dict[str, LedgerRow]:
    columns = [messages.c[name] for name in LedgerRow.__dataclass_fields__]
    with engine.connect() as conn:
        return {row.message_key: LedgerRow(*row) for row in conn.execute(sa.select(*columns))}


# ----------------------------------------------------------------------------------------------------
# Private databases
# ----------------------------------------------------------------------------------------------------


def postgres_available(url: str) -> bool:
    try:
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
        engine.dispose()
    except Exception:
        return False
    return True


# ----------------------------------------------------------------------------------------------------
# Provider servers that report arrivals and acceptances
# ----------------------------------------------------------------------------------------------------

_REQUEST_FACTS: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "dispatch_harness_request_facts", default=None
)


class _Tap:
    """Counts vendor requests as they reach the vendor logic and messages as they are accepted, and
    runs an armed action on the n-th one (inline, on the server's event loop, before the answer is
    written; or after a delay on a timer thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._armed: tuple[str, int, float, Callable[[], None]] | None = None
        self._counts: Counter[str] = Counter()

    def arm(self, event: str, nth: int, delay_s: float, action: Callable[[], None]) -> None:
        with self._lock:
            self._counts = Counter()
            self._armed = (event, nth, delay_s, action)

    def disarm(self) -> None:
        with self._lock:
            self._armed = None

    def hit(self, event: str) -> None:
        with self._lock:
            self._counts[event] += 1
            armed = self._armed
            if armed is None or armed[0] != event or self._counts[event] != armed[1]:
                return
            self._armed = None
        _, _, delay_s, action = armed
        if delay_s <= 0:
            action()
        else:
            timer = threading.Timer(delay_s, action)
            timer.daemon = True
            timer.start()


class _Observed:
    """Mixed into a contract server, which stays unchanged otherwise: each request-log entry carries
    ``arrived_at`` (when the request reached the server) and, for a 429, ``rate_limit_reset`` (the
    X-RateLimit-Reset it was sent); ``tap`` fires an armed action on the n-th request reaching the
    vendor logic (``arrival``) or accepted (``accept``); ``in_flight`` counts requests being handled."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.tap = _Tap()
        self._in_flight = 0
        self._in_flight_lock = threading.Lock()
        super().__init__(*args, **kwargs)
        log_request = self.store.log_request

        def log_with_facts(entry: dict[str, Any]) -> dict[str, Any]:
            entry.update(_REQUEST_FACTS.get() or {})
            return log_request(entry)

        self.store.log_request = log_with_facts

    async def serve(self, request: Any, process: Any) -> Any:
        token = _REQUEST_FACTS.set({"arrived_at": time.time()})
        with self._in_flight_lock:
            self._in_flight += 1
        try:
            return await super().serve(request, process)
        finally:
            with self._in_flight_lock:
                self._in_flight -= 1
            _REQUEST_FACTS.reset(token)

    @property
    def in_flight(self) -> int:
        """Vendor requests being handled now (a killed client's requests still run to their end)."""
        with self._in_flight_lock:
            return self._in_flight

    def _fault_response(self, fault: str, decision: Any) -> Any:
        facts = _REQUEST_FACTS.get()
        if facts is not None and fault in (f.RATE_LIMITED, f.OVER_CAPACITY):
            facts["rate_limit_reset"] = decision.retry_at
        return super()._fault_response(fault, decision)

    def _process(self, request: Any, body: bytes) -> Any:
        self.tap.hit("arrival")
        answer = super()._process(request, body)
        if answer.outcome == ACCEPTED:
            self.tap.hit("accept")
        return answer


class ObservedSendGridServer(_Observed, SendGridServer):
    pass


class ObservedTwilioServer(_Observed, TwilioServer):
    pass


def sendgrid_keys(server: SendGridServer) -> Counter[str]:
    """How many times the server accepted each ``lc_message_key``."""
    return Counter(m["custom_args"].get("lc_message_key") for m in server.messages())


def twilio_keys(server: TwilioServer) -> Counter[str]:
    """How many times the server accepted each ``lc_message_key`` (from the status callback URL)."""
    keys: Counter[str] = Counter()
    for m in server.messages():
        query = parse_qs(urlsplit(m["status_callback"] or "").query)
        keys[query.get("lc_message_key", [None])[0]] += 1
    return keys


# ----------------------------------------------------------------------------------------------------
# The webhook receiver on real HTTP
# ----------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def webhook_receiver(
    settings: Settings, engine: sa.Engine, *, sendgrid_public_key: str | None, twilio_auth_token: str | None
) -> Iterator[str]:
    """The project's receiver (``create_app``) under uvicorn on a thread; yields its base URL."""
    app = create_app(
        settings, engine, sendgrid_public_key=sendgrid_public_key, twilio_auth_token=twilio_auth_token
    )
    runner = ServerThread(app, "127.0.0.1", 0, "webhooks")
    base_url = runner.start()
    try:
        yield base_url
    finally:
        runner.stop()


# ----------------------------------------------------------------------------------------------------
# Dispatcher processes
# ----------------------------------------------------------------------------------------------------


def dispatch_argv(as_of: date = AS_OF) -> list[str]:
    return ["dispatch", "--as-of", as_of.isoformat(), "--send-mode", "live"]


def dispatch_env(
    ops_db_url: str,
    *,
    sendgrid_url: str | None = None,
    twilio_url: str | None = None,
    data_dir: Path,
    templates_dir: Path | None = None,
    public_base_url: str | None = None,
    timeout_s: float = 10.0,
    **tuning: Any,
) -> dict[str, str]:
    """Variables for ``python -m lifecycle dispatch``: the ledger, the provider connections (Airflow
    ``AIRFLOW_CONN_*`` JSON) and ``LIFECYCLE_DISPATCH_<FIELD>`` tuning."""
    env = {
        "LIFECYCLE_OPS_DB_URL": ops_db_url,
        "LIFECYCLE_UNSUBSCRIBE_SECRET": UNSUBSCRIBE_SECRET,
        "LIFECYCLE_DATA_DIR": str(data_dir),
        "PYTHONUNBUFFERED": "1",
    }
    if templates_dir is not None:
        env["LIFECYCLE_TEMPLATES_DIR"] = str(templates_dir)
    if public_base_url is not None:
        env["LIFECYCLE_PUBLIC_BASE_URL"] = public_base_url
    if sendgrid_url is not None:
        env["AIRFLOW_CONN_SENDGRID_DEFAULT"] = json.dumps(
            {
                "conn_type": "http",
                "host": sendgrid_url,
                "password": DEFAULT_API_KEY,
                "extra": {"timeout_s": timeout_s},
            }
        )
    if twilio_url is not None:
        env["AIRFLOW_CONN_TWILIO_DEFAULT"] = json.dumps(
            {
                "conn_type": "http",
                "host": twilio_url,
                "login": DEFAULT_ACCOUNT_SID,
                "password": DEFAULT_AUTH_TOKEN,
                "extra": {"timeout_s": timeout_s},
            }
        )
    for name, value in tuning.items():
        env[f"LIFECYCLE_DISPATCH_{name.upper()}"] = str(value)
    return env


def read_json_line(proc: subprocess.Popen[bytes], timeout: float, what: str) -> dict[str, Any]:
    """The next JSON line a helper process writes on its stdout, waiting at most ``timeout`` seconds."""
    assert proc.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            raise TimeoutError(f"{what} silent for {timeout} s")
    line = proc.stdout.readline()
    if not line:
        raise RuntimeError(f"{what} exited with {proc.poll()}")
    return json.loads(line)


class DispatchProcess:
    """One running ``python -m lifecycle dispatch``; ``wait`` returns its exit code (-9: SIGKILL)."""

    kind: str
    pid: int
    stdout_path: Path
    stderr_path: Path

    def wait(self, timeout: float) -> int | None:
        raise NotImplementedError

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)

    def report(self) -> dict[str, int]:
        """The JSON report ``lifecycle dispatch`` prints last on stdout (log lines may precede it)."""
        text = self.stdout_path.read_text()
        start = text.rfind("\n{\n") + 1 if not text.startswith("{") else 0
        return json.loads(text[start:])

    def output(self) -> str:
        parts = []
        for path in (self.stdout_path, self.stderr_path):
            with contextlib.suppress(FileNotFoundError):
                parts.append(path.read_text(errors="replace")[-4000:])
        return "\n".join(parts)


class ExecProcess(DispatchProcess):
    kind = "exec"

    def __init__(self, argv: list[str], env: dict[str, str], log_dir: Path, name: str) -> None:
        self.stdout_path = log_dir / f"{name}.out"
        self.stderr_path = log_dir / f"{name}.err"
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self._popen = subprocess.Popen(
                [sys.executable, "-m", "lifecycle", *argv],
                env={**os.environ, **env},
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
                cwd=log_dir,
            )
        self.pid = self._popen.pid

    def wait(self, timeout: float) -> int | None:
        try:
            return self._popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return None


class ForkServer:
    """A process that has imported what ``python -m lifecycle dispatch`` imports and forks a child per
    run. Protocol: JSON lines on its stdin/stdout (``spawn`` -> pid, ``wait`` -> exit code)."""

    def __init__(self, log_dir: Path, start_timeout: float = 120.0) -> None:
        self._lock = threading.Lock()
        self._log = (log_dir / "fork-server.err").open("wb")
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "tests.dispatch_harness", "fork-server"],
            cwd=REPO_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=dict(os.environ),
        )
        ready = self._read(start_timeout)
        if ready.get("ready") is not True:
            raise RuntimeError(f"fork server did not start: {ready}")

    def _read(self, timeout: float) -> dict[str, Any]:
        return read_json_line(self._proc, timeout, "fork server")

    def call(self, request: dict[str, Any], timeout: float = 60.0) -> dict[str, Any]:
        assert self._proc.stdin is not None
        with self._lock:
            self._proc.stdin.write(json.dumps(request).encode() + b"\n")
            self._proc.stdin.flush()
            return self._read(timeout + 10)

    def spawn(self, argv: list[str], env: dict[str, str], log_dir: Path, name: str) -> ForkedProcess:
        return ForkedProcess(self, argv, env, log_dir, name)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.call({"op": "exit"}, timeout=5)
        try:
            self._proc.wait(10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(10)
        self._log.close()


class ForkedProcess(DispatchProcess):
    kind = "fork"

    def __init__(
        self, server: ForkServer, argv: list[str], env: dict[str, str], log_dir: Path, name: str
    ) -> None:
        self._server = server
        self.stdout_path = log_dir / f"{name}.out"
        self.stderr_path = log_dir / f"{name}.err"
        answer = server.call(
            {
                "op": "spawn",
                "argv": argv,
                "env": env,
                "stdout": str(self.stdout_path),
                "stderr": str(self.stderr_path),
                "cwd": str(log_dir),
            }
        )
        self.pid = answer["pid"]
        self._rc: int | None = None

    def wait(self, timeout: float) -> int | None:
        if self._rc is None:
            self._rc = self._server.call({"op": "wait", "pid": self.pid, "timeout": timeout}, timeout)["rc"]
        return self._rc


def _fork_server_main() -> int:
    """Import what ``python -m lifecycle dispatch`` imports, its lazy imports included (Airflow's
    connection lookup, the provider clients), then serve spawn/wait requests from the test process."""
    for module in (
        "lifecycle.cli",
        "lifecycle.daily",
        "lifecycle.providers.sendgrid_email",
        "lifecycle.providers.twilio_sms",
        "airflow.sdk.bases.hook",
    ):
        importlib.import_module(module)

    if threading.active_count() != 1:
        raise RuntimeError(f"the fork server must be single-threaded, has {threading.enumerate()}")
    out = sys.stdout.buffer

    def answer(payload: dict[str, Any]) -> None:
        out.write(json.dumps(payload).encode() + b"\n")
        out.flush()

    answer({"ready": True, "pid": os.getpid()})
    for line in sys.stdin.buffer:
        request = json.loads(line)
        op = request["op"]
        if op == "exit":
            answer({"bye": True})
            return 0
        if op == "spawn":
            pid = os.fork()
            if pid == 0:  # the child: become `python -m lifecycle <argv>`
                code = 1
                try:
                    stdout = os.open(request["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                    stderr = os.open(request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
                    os.dup2(stdout, 1)
                    os.dup2(stderr, 2)
                    os.chdir(request["cwd"])
                    os.environ.update(request["env"])
                    sys.argv = ["lifecycle", *request["argv"]]
                    runpy.run_module("lifecycle", run_name="__main__", alter_sys=True)
                    code = 0
                except SystemExit as exc:
                    code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
                except BaseException:
                    traceback.print_exc()
                finally:
                    with contextlib.suppress(Exception):
                        sys.stdout.flush()
                        sys.stderr.flush()
                    os._exit(code)
            answer({"pid": pid})
        elif op == "wait":
            deadline = time.monotonic() + request["timeout"]
            rc = None
            while True:
                done, status = os.waitpid(request["pid"], os.WNOHANG)
                if done:
                    rc = os.waitstatus_to_exitcode(status)
                    break
                if time.monotonic() >= deadline:
                    break
                time.sleep(0.002)
            answer({"rc": rc})
        else:
            answer({"error": f"unknown op {op!r}"})
    return 0


# ----------------------------------------------------------------------------------------------------
# Waiting without sleeping blindly
# ----------------------------------------------------------------------------------------------------


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.01) -> bool:
    """Poll ``condition`` until it holds or ``timeout`` passes; True if it held."""
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def utc_now() -> datetime:
    return datetime.now(UTC)


# ----------------------------------------------------------------------------------------------------
# A SendGrid server in its own process
# ----------------------------------------------------------------------------------------------------


def _sendgrid_process_main(argv: list[str]) -> int:
    """The SendGrid contract server as a process; prints ``{"url": ...}`` once serving, stops on SIGTERM.

    Besides the server's own sandbox API it answers ``GET /_sandbox/message_keys`` with the
    ``lc_message_key`` of every accepted message and the request count per status, so a test can
    read 100,000 acceptances without transferring their rendered content.
    """
    parser = argparse.ArgumentParser(prog="python -m tests.dispatch_harness sendgrid-server")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--capacity-rps", type=float)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    class KeysSendGridServer(SendGridServer):
        def _add_vendor_routes(self, app: Any) -> None:
            super()._add_vendor_routes(app)

            @app.get("/_sandbox/message_keys")
            async def message_keys() -> dict[str, Any]:
                keys = [m["custom_args"].get("lc_message_key") for m in self.store.messages()]
                statuses = Counter(str(r["status"]) for r in self.store.requests())
                return {"keys": keys, "requests_by_status": dict(statuses)}

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    server = KeysSendGridServer(
        faults=FaultConfig(latency_ms=args.latency_ms, capacity_rps=args.capacity_rps, seed=args.seed),
        seed=args.seed,
    )
    with server:
        print(json.dumps({"url": server.base_url}), flush=True)
        stop.wait()
    return 0


@contextlib.contextmanager
def sendgrid_process(log_dir: Path, **options: Any) -> Iterator[str]:
    """``_sendgrid_process_main`` as a child process; yields its base URL."""
    argv = [sys.executable, "-m", "tests.dispatch_harness", "sendgrid-server"]
    for name, value in options.items():
        if value is not None:
            argv += [f"--{name.replace('_', '-')}", str(value)]
    with (log_dir / "sendgrid-server.err").open("wb") as err:
        proc = subprocess.Popen(argv, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=err, env=dict(os.environ))
    try:
        yield read_json_line(proc, 120, "SendGrid server process")["url"]
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(15)


if __name__ == "__main__":
    if sys.argv[1:] == ["fork-server"]:
        sys.exit(_fork_server_main())
    if sys.argv[1:2] == ["sendgrid-server"]:
        sys.exit(_sendgrid_process_main(sys.argv[2:]))
    sys.exit(f"usage: python -m tests.dispatch_harness fork-server|sendgrid-server (got {sys.argv[1:]})")
