"""The webhook receiver: one FastAPI app, served on its own (``python -m lifecycle.webhooks``) or inside
Airflow's API server (``lifecycle_airflow_plugin``). It writes only to the operational store."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from lifecycle.settings import Settings, load_settings
from lifecycle.webhooks import credentials, sendgrid_events, twilio_callbacks, unsubscribe_pages
from lifecycle.webhooks.state import ReceiverState

log = logging.getLogger(__name__)


def create_app(
    settings: Settings,
    engine: sa.Engine | None = None,
    *,
    sendgrid_public_key: str | None,
    twilio_auth_token: str | None,
    max_age_s: float = 300,
    clock: Callable[[], datetime] | None = None,
) -> FastAPI:
    """Build the receiver. Without ``engine`` the store at ``settings.ops_db_url`` is opened (and
    migrated) on first use. A missing key makes its provider's endpoint answer 503, so the provider
    keeps retrying until the key is configured instead of its events being lost."""
    state = ReceiverState(settings, engine, sendgrid_public_key, twilio_auth_token, max_age_s, clock)
    for name, configured in (("SendGrid", state.sendgrid), ("Twilio", state.twilio)):
        if configured is None:
            log.warning("no %s webhook key configured: its webhooks are answered 503", name)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        state.close()

    app = FastAPI(
        title="Lifecycle webhooks", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan
    )
    app.state.receiver = state
    app.include_router(sendgrid_events.router)
    app.include_router(twilio_callbacks.router)
    app.include_router(unsubscribe_pages.router)
    app.add_api_route("/healthz", healthz, methods=["GET"])
    return app


def _store_reachable(state: ReceiverState) -> bool:
    try:
        with state.engine.connect() as conn:
            conn.execute(sa.text("select 1"))
    except sa.exc.SQLAlchemyError as exc:
        log.warning("health check: operational store unreachable (%s)", exc.__class__.__name__)
        return False
    return True


async def healthz(request: Request) -> JSONResponse:
    state: ReceiverState = request.app.state.receiver
    ok = await run_in_threadpool(_store_reachable, state)
    body = {
        "status": "ok" if ok else "unavailable",
        "sendgrid_signing": state.sendgrid is not None,
        "twilio_signing": state.twilio is not None,
    }
    return JSONResponse(body, status_code=200 if ok else 503)


def app_from_environment(engine: sa.Engine | None = None) -> FastAPI:
    """The receiver as deployed: settings and keys from the environment and Airflow connections."""
    return create_app(
        load_settings(),
        engine,
        sendgrid_public_key=credentials.sendgrid_webhook_public_key(),
        twilio_auth_token=credentials.twilio_auth_token(),
    )
