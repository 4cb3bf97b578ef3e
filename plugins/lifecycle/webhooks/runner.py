"""``python -m lifecycle.webhooks``: the receiver as its own service (docker-compose, the demo)."""

from __future__ import annotations

import argparse
import logging

import uvicorn

from lifecycle.masking import install_pii_masking
from lifecycle.ops_store import connect, migrate
from lifecycle.settings import load_settings
from lifecycle.webhooks.app import app_from_environment


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lifecycle.webhooks", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (0.0.0.0 in a container)")
    parser.add_argument("--port", type=int, default=8030)
    parser.add_argument(
        "--forwarded-allow-ips",
        default="127.0.0.1",
        help="proxies whose X-Forwarded-* headers uvicorn trusts (comma-separated, or *)",
    )
    args = parser.parse_args(argv)
    # Open and migrate the store now, so a wrong URL fails at start, not on the first webhook.
    engine = connect(load_settings().ops_db_url)
    migrate(engine)
    app = app_from_environment(engine)
    # After the app: reading an Airflow connection imports Airflow, which installs its own handlers.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    install_pii_masking()
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_config=None,  # keep the root handlers above
        proxy_headers=True,
        forwarded_allow_ips=args.forwarded_allow_ips,
    )
    return 0
