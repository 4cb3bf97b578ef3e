#!/usr/bin/env bash
# The demo: generate a business, start the local SendGrid- and Twilio-contract servers, and run the
# daily DAG through Airflow (`airflow dags test`) for AS_OF. Run it through `make demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
CUSTOMERS="${1:-10000}" SEED="${2:-42}" AS_OF="${3:-$(date -u +%F)}"
: "${AIRFLOW_HOME:?run through make demo}"

export LIFECYCLE_DATA_DIR="${LIFECYCLE_DATA_DIR:-$PWD/data}"
mkdir -p "$LIFECYCLE_DATA_DIR"
# The unsubscribe-link secret is generated once per data folder (never committed) so links stay valid.
secret_file="$LIFECYCLE_DATA_DIR/.unsubscribe-secret"
[ -s "$secret_file" ] || python3 -c 'import secrets; print(secrets.token_urlsafe(32))' >"$secret_file"
export LIFECYCLE_UNSUBSCRIBE_SECRET="$(cat "$secret_file")"

echo "==> generating a business of $CUSTOMERS customers (seed $SEED) as of $AS_OF"
generate-business --customers "$CUSTOMERS" --seed "$SEED" --end "$AS_OF" --out "$LIFECYCLE_DATA_DIR/landing"

echo "==> starting the local provider servers"
log_dir="$LIFECYCLE_DATA_DIR/logs"; mkdir -p "$log_dir"
python -m lifecycle.provider_servers --sendgrid-port 8025 --twilio-port 8026 >"$log_dir/provider-servers.log" 2>&1 &
servers_pid=$!
trap 'kill "$servers_pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -fsS -o /dev/null http://127.0.0.1:8025/_sandbox/messages 2>/dev/null && break
  kill -0 "$servers_pid" 2>/dev/null || { cat "$log_dir/provider-servers.log"; exit 1; }
  sleep 0.2
done
# The demo's key for the local server only; real keys go into the Airflow connection, never the repo.
export AIRFLOW_CONN_SENDGRID_DEFAULT="$(python -c 'import json; from lifecycle.provider_servers import DEFAULT_API_KEY as k; print(json.dumps({"conn_type": "http", "host": "http://127.0.0.1:8025", "password": k}))')"
export AIRFLOW_CONN_TWILIO_DEFAULT="$(python -c 'import json; from lifecycle.provider_servers import DEFAULT_ACCOUNT_SID as s, DEFAULT_AUTH_TOKEN as t; print(json.dumps({"conn_type": "http", "host": "http://127.0.0.1:8026", "login": s, "password": t}))')"

echo "==> running the daily DAG for $AS_OF through Airflow"
airflow dags test lifecycle_daily "$AS_OF" >"$log_dir/dags-test-$AS_OF.log" 2>&1 || {
  tail -n 60 "$log_dir/dags-test-$AS_OF.log"; echo "demo: the DAG run failed; full log: $log_dir/dags-test-$AS_OF.log" >&2; exit 1; }
grep -E "Marking run|state=" "$log_dir/dags-test-$AS_OF.log" | tail -n 3 || true

echo "==> what happened"
lifecycle ledger
python scripts/demo_summary.py "$AS_OF"
echo
echo "Airflow log of the run: $log_dir/dags-test-$AS_OF.log"
echo "Open the Airflow UI with: make airflow-ui   (then http://localhost:8080)"
