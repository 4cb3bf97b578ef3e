#!/usr/bin/env bash
# Creates .venv from the exact pins in requirements.txt and installs the project into it (editable).
# Idempotent: re-running only installs what changed. Needs Python 3.11 and the package registry.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
  echo "setup: Python 3.11 is required ($PYTHON is $("$PYTHON" --version 2>&1)). Set PYTHON=/path/to/python3.11." >&2
  exit 1
fi

UV_VERSION=0.13.8
if ! command -v uv >/dev/null 2>&1 || [ "$(uv --version | cut -d' ' -f2)" != "$UV_VERSION" ]; then
  echo "setup: installing uv $UV_VERSION"
  "$PYTHON" -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
fi
UV="$("$PYTHON" -c 'import shutil,sys; print(shutil.which("uv") or "")')"
[ -n "$UV" ] || UV="$("$PYTHON" -m uv find 2>/dev/null || true)"
[ -n "$UV" ] || UV=uv

[ -x .venv/bin/python ] || "$UV" venv --quiet --python "$PYTHON" .venv
"$UV" pip install --quiet --python .venv/bin/python -r requirements.txt
"$UV" pip install --quiet --python .venv/bin/python --no-deps -e .
echo "setup: .venv ready ($(.venv/bin/python --version), $(.venv/bin/airflow version 2>/dev/null | tail -1) airflow, dbt $(.venv/bin/python -c 'import dbt.version; print(dbt.version.__version__)'))"
