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
# Modules are compiled to bytecode when installed, not on first import: where PYTHONDONTWRITEBYTECODE is
# set (the Dockerfile, some CI machines), Python never caches them, and every dbt and Airflow process
# would compile all it imports again, about 3 s of each start-up (docs/benchmarks.md).
"$UV" pip install --quiet --python .venv/bin/python --compile-bytecode -r requirements.txt
"$UV" pip install --quiet --python .venv/bin/python --no-deps -e .
# A .venv made before the line above compiled nothing; compile it once. A package may ship a file only
# Python 2 can read (aenum does), which no import reaches: compileall reports it, setup goes on.
if [ ! -e .venv/.bytecode-compiled ]; then
  .venv/bin/python -m compileall -q -j 0 .venv/lib/python3.11/site-packages >/dev/null 2>&1 || true
  touch .venv/.bytecode-compiled
fi
echo "setup: .venv ready ($(.venv/bin/python --version), $(.venv/bin/airflow version 2>/dev/null | tail -1) airflow, dbt $(.venv/bin/python -c 'import dbt.version; print(dbt.version.__version__)'))"
