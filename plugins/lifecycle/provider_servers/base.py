"""What both provider servers share: the edge pipeline, the ``/_sandbox`` API and their lifecycle.

Every vendor request passes the same edge before the vendor's own contract runs: added latency, the
capacity bucket and an injected fault, then the request log. Accepted messages may trigger simulated
outcomes at once (``auto_emit``); otherwise tests and the demo drive them with ``emit``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.responses import Response

from lifecycle.provider_servers import faults as f
from lifecycle.provider_servers.connection import ConnectionReset, HeldThenDropped
from lifecycle.provider_servers.faults import Decision, FaultConfig, FaultInjector
from lifecycle.provider_servers.runner import ServerThread
from lifecycle.provider_servers.store import Record, SandboxStore
from lifecycle.provider_servers.webhooks import WebhookSender

ACCEPTED, SANDBOX, REJECTED = "accepted", "sandbox", "rejected"


@dataclass(frozen=True)
class Answer:
    """The vendor logic's verdict on one request: the response, and which messages it accepted."""

    response: Response
    outcome: str
    message_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class WebhookSettings:
    """Where simulated outcomes go and how they are drawn. For Twilio, ``url`` receives inbound messages;
    status callbacks go to each message's own StatusCallback."""

    url: str | None = None
    auto_emit: bool = False
    outcomes: Any = None
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "outcomes": dataclasses.asdict(self.outcomes)}


class SandboxError(ValueError):
    """A bad call to the sandbox API itself (answered 400 over HTTP)."""


class ProviderServer(ABC):
    """A vendor-contract server on a background thread; use as a context manager or start()/stop()."""

    name: ClassVar[str]
    outcomes_type: ClassVar[type]

    def __init__(
        self,
        *,
        host: str,
        port: int,
        seed: int,
        faults: FaultConfig | None,
        webhook_url: str | None,
        auto_emit: bool,
        outcomes: Any,
    ) -> None:
        self.seed = seed
        self.store = SandboxStore()
        self.faults = FaultInjector(faults)
        self.webhooks = WebhookSender()
        self._webhook_settings = WebhookSettings(
            webhook_url, auto_emit, outcomes or self.outcomes_type(), seed
        )
        self._runner = ServerThread(self._build_app(), host, port, self.name)

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> str:
        """Start serving; returns the base URL to point the official client at."""
        self.webhooks.start()
        return self._runner.start()

    def stop(self) -> None:
        """Stop serving and drop undelivered webhooks (``flush_webhooks`` first to deliver them)."""
        self._runner.stop()
        self.webhooks.stop()

    @property
    def base_url(self) -> str:
        if self._runner.base_url is None:
            raise RuntimeError(f"{self.name} server not started")
        return self._runner.base_url

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- sandbox API (Python) ----------------------------------------------------------------------
    def messages(self, since: int = 0) -> list[Record]:
        """Accepted messages with ``seq`` above ``since``, oldest first."""
        return self.store.messages(since)

    def requests(self, since: int = 0) -> list[Record]:
        """Every request to the vendor endpoint: headers (auth masked), raw body, fault, status, outcome."""
        return self.store.requests(since)

    def set_faults(self, config: FaultConfig | None = None, **settings: Any) -> FaultConfig:
        """Replace the fault plan: a FaultConfig, or its fields as keywords; no argument clears all faults."""
        if config is None:
            config = FaultConfig.from_mapping(settings)
        elif settings:
            raise TypeError("pass a FaultConfig or keyword settings, not both")
        self.faults.configure(config)
        return config

    @property
    def webhook_settings(self) -> WebhookSettings:
        return self._webhook_settings

    def configure_webhooks(self, **changes: Any) -> WebhookSettings:
        """Change ``url``, ``auto_emit``, ``outcomes`` (object or mapping) and/or ``seed``; others are kept."""
        unknown = set(changes) - {f.name for f in dataclasses.fields(WebhookSettings)}
        if unknown:
            raise SandboxError(f"unknown webhook settings {sorted(unknown)}")
        if isinstance(changes.get("outcomes"), Mapping):
            changes["outcomes"] = self.outcomes_type.from_mapping(changes["outcomes"])
        self._webhook_settings = dataclasses.replace(self._webhook_settings, **changes)
        return self._webhook_settings

    def emit(
        self,
        ids: Iterable[str] | None = None,
        *,
        outcomes: Any = None,
        seed: int | None = None,
        at: float | None = None,
    ) -> list[dict[str, Any]]:
        """Simulate outcomes for accepted messages not emitted yet (or those named by ``ids``).

        Webhooks are queued for the background sender; returns what was emitted. ``at`` (unix seconds)
        dates SendGrid events from that moment, for simulated days (default: now); Twilio callbacks
        carry no timestamp.
        """
        settings = self._webhook_settings
        if isinstance(outcomes, Mapping):
            outcomes = self.outcomes_type.from_mapping(outcomes)
        records = self.store.claim_for_emission(None if ids is None else list(ids))
        return self._emit_records(
            records, outcomes or settings.outcomes, settings.seed if seed is None else seed, at
        )

    def flush_webhooks(self, timeout: float = 10.0) -> bool:
        """Wait until every queued webhook is delivered or given up; False on timeout."""
        return self.webhooks.flush(timeout)

    def webhook_deliveries(self, since: int = 0) -> list[dict[str, Any]]:
        return self.webhooks.deliveries(since)

    def reset(self) -> None:
        """Forget messages and the request log (faults and webhook settings stay)."""
        self.store.clear()

    # -- vendor specifics ------------------------------------------------------------------------
    @abstractmethod
    def _add_vendor_routes(self, app: FastAPI) -> None: ...

    @abstractmethod
    def _fault_response(self, fault: str, decision: Decision) -> Response:
        """The vendor's answer for an injected 429 (rate_limited/over_capacity), 500 or 503."""

    @abstractmethod
    def _emit_records(
        self, records: list[Record], outcomes: Any, seed: int, at: float | None
    ) -> list[dict[str, Any]]: ...

    # -- the edge ----------------------------------------------------------------------------------
    async def serve(self, request: Request, process: Callable[[Request, bytes], Answer]) -> Response:
        """Run one vendor request through latency, capacity, faults, the vendor logic and the log."""
        body = await request.body()
        decision = self.faults.decide()
        if decision.latency_s:
            await asyncio.sleep(decision.latency_s)
        fault = decision.fault
        answer: Answer | None = None
        if fault in (f.RATE_LIMITED, f.OVER_CAPACITY, f.SERVER_ERROR, f.UNAVAILABLE):
            response = self._fault_response(fault, decision)
        elif fault == f.CONNECTION_RESET:
            response = ConnectionReset()
        elif fault == f.TIMEOUT:
            response = HeldThenDropped(self.faults.config.hold_seconds, self._runner.closing)
        else:
            answer = process(request, body)
            response = answer.response
            if fault == f.ACCEPTED_THEN_TIMEOUT and answer.outcome == ACCEPTED:
                response = HeldThenDropped(self.faults.config.hold_seconds, self._runner.closing)
            elif fault == f.ACCEPTED_THEN_TIMEOUT:
                fault = None  # a rejected request is answered; there is nothing ambiguous to test
        self._log(request, body, fault, response, answer)
        if answer is not None and answer.outcome == ACCEPTED and self._webhook_settings.auto_emit:
            self.emit(answer.message_ids)
        return response

    def _log(
        self, request: Request, body: bytes, fault: str | None, response: Response, answer: Answer | None
    ) -> None:
        dropped = isinstance(response, ConnectionReset | HeldThenDropped)
        error = None
        if not dropped and response.status_code >= 400 and response.body:
            error = json.loads(response.body)
        headers = dict(request.headers)
        if "authorization" in headers:
            headers["authorization"] = headers["authorization"].split(" ", 1)[0] + " ****"
        self.store.log_request(
            {
                "at": time.time(),
                "method": request.method,
                "path": request.url.path,
                "headers": headers,
                "body": body.decode("utf-8", "replace"),
                "fault": fault,
                "status": None if dropped else response.status_code,
                "outcome": fault or (answer.outcome if answer else None),
                "message_ids": list(answer.message_ids) if answer else [],
                "error": error,
            }
        )

    # -- the app -----------------------------------------------------------------------------------
    def _build_app(self) -> FastAPI:
        app = FastAPI(title=f"{self.name} contract server", docs_url=None, redoc_url=None, openapi_url=None)
        self._add_vendor_routes(app)
        self._add_sandbox_routes(app)

        @app.exception_handler(SandboxError)
        async def sandbox_error(_: Request, exc: SandboxError) -> JSONResponse:
            return JSONResponse({"error": str(exc)}, status_code=400)

        return app

    def _add_sandbox_routes(self, app: FastAPI) -> None:
        @app.get("/_sandbox/messages")
        async def messages(since: int = 0) -> list[Record]:
            return self.messages(since)

        @app.get("/_sandbox/requests")
        async def requests(since: int = 0) -> list[Record]:
            return self.requests(since)

        @app.get("/_sandbox/faults")
        async def get_faults() -> dict[str, Any]:
            return self.faults.config.to_dict()

        @app.post("/_sandbox/faults")
        async def set_faults(request: Request) -> dict[str, Any]:
            data = json_object(await request.body())
            return _checked(lambda: self.set_faults(**data).to_dict())

        @app.get("/_sandbox/webhooks")
        async def webhooks(since: int = 0) -> dict[str, Any]:
            return {
                "settings": self._webhook_settings.to_dict(),
                "deliveries": self.webhook_deliveries(since),
            }

        @app.post("/_sandbox/webhooks")
        async def configure_webhooks(request: Request) -> dict[str, Any]:
            data = json_object(await request.body())
            return _checked(lambda: self.configure_webhooks(**data).to_dict())

        @app.post("/_sandbox/webhooks/flush")
        async def flush(timeout: float = 10.0) -> dict[str, bool]:
            return {"flushed": await asyncio.to_thread(self.flush_webhooks, timeout)}

        @app.post("/_sandbox/emit")
        async def emit(request: Request) -> list[dict[str, Any]]:
            data = json_object(await request.body())
            return _checked(lambda: self.emit(**data))

        @app.post("/_sandbox/reset")
        async def reset() -> dict[str, bool]:
            self.reset()
            return {"reset": True}


def json_object(body: bytes) -> dict[str, Any]:
    """A sandbox request's JSON object (empty body = empty object)."""
    try:
        data = json.loads(body) if body.strip() else {}
    except json.JSONDecodeError as exc:
        raise SandboxError(f"body is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise SandboxError("body must be a JSON object")
    return data


def _checked(call: Callable[[], Any]) -> Any:
    """Turn a bad sandbox setting (TypeError/ValueError from a config class) into a 400."""
    try:
        return call()
    except (TypeError, ValueError) as exc:
        raise SandboxError(str(exc)) from exc
