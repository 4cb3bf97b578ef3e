"""docker-compose.yml cannot run here (no Docker engine): check it statically against the code."""

from __future__ import annotations

import re

import yaml

from tests.conftest import REPO_ROOT

COMPOSE = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())


def test_services_of_the_production_topology_are_present():
    assert {
        "postgres",
        "airflow-init",
        "airflow-apiserver",
        "airflow-scheduler",
        "airflow-dag-processor",
        "webhooks",
    } <= set(COMPOSE["services"])


def test_every_airflow_service_shares_the_image_and_data_volume():
    for name, service in COMPOSE["services"].items():
        if name == "postgres":
            continue
        assert service["image"] == "lifecycle-pipeline:latest", name
        assert "lifecycle-data:/data" in service["volumes"], name
        env = service["environment"]
        assert env["LIFECYCLE_OPS_DB_URL"].startswith("postgresql+psycopg://"), name
        assert env["LIFECYCLE_DATA_DIR"] == "/data", name


def test_no_secret_is_written_into_the_file():
    text = (REPO_ROOT / "docker-compose.yml").read_text()
    assert not re.search(r"SG\.[A-Za-z0-9_-]{10,}", text)
    for name, service in COMPOSE["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if any(word in key for word in ("SECRET", "TOKEN", "FERNET", "PUBLIC_KEY", "CONN_")):
                assert str(value).startswith("${"), f"{name}.{key} must come from the environment"


def test_the_webhook_service_runs_the_receiver_module():
    command = COMPOSE["services"]["webhooks"]["command"]
    assert command[:3] == ["python", "-m", "lifecycle.webhooks"]
    assert (REPO_ROOT / "plugins" / "lifecycle" / "webhooks" / "__main__.py").exists()


def test_the_init_sql_and_dockerfile_exist():
    assert (REPO_ROOT / "scripts" / "postgres-init.sql").exists()
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    assert "requirements.txt" in dockerfile and "uv==0.13.8" in dockerfile
    # the image sets PYTHONDONTWRITEBYTECODE, so its packages must be compiled when installed
    assert (
        "PYTHONDONTWRITEBYTECODE=1" in dockerfile and "--compile-bytecode -r requirements.txt" in dockerfile
    )
