"""Airflow plugin: the webhook receiver inside Airflow 3's API server, under ``/lifecycle``.

Set ``LIFECYCLE_PUBLIC_BASE_URL`` to the API server's public URL plus ``/lifecycle``. Importing this
module builds nothing: the app (settings, keys, store) is created on its first request, because Airflow
imports plugins in every process it starts and a connection lookup may query the metadata database.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from lifecycle.webhooks import app_from_environment
from lifecycle.webhooks.deferred import DeferredApp

URL_PREFIX = "/lifecycle"


class LifecyclePlugin(AirflowPlugin):
    name = "lifecycle"
    fastapi_apps = [  # noqa: RUF012 (AirflowPlugin declares its extension points as class attributes)
        {"app": DeferredApp(app_from_environment), "url_prefix": URL_PREFIX, "name": "Lifecycle webhooks"}
    ]
