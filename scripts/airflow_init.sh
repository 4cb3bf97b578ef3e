#!/usr/bin/env bash
# Prepares Airflow's metadata database and the pools the DAGs use. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${AIRFLOW_HOME:?run through make, which sets AIRFLOW_HOME}"
mkdir -p "$AIRFLOW_HOME"
airflow db migrate >"$AIRFLOW_HOME/db-migrate.log" 2>&1 || { cat "$AIRFLOW_HOME/db-migrate.log"; exit 1; }
airflow pools set dbt_warehouse 1 "one dbt writer per DuckDB warehouse" >/dev/null
airflow pools set provider_dispatch 4 "bounded concurrent sends to SendGrid and Twilio" >/dev/null
echo "airflow-init: metadata DB ready in $AIRFLOW_HOME"
