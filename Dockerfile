# One image for every Airflow service of docker-compose.yml: the exact pins of requirements.txt.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    AIRFLOW_HOME=/opt/airflow \
    AIRFLOW__CORE__DAGS_FOLDER=/opt/lifecycle/dags \
    AIRFLOW__CORE__PLUGINS_FOLDER=/opt/lifecycle/plugins \
    AIRFLOW__CORE__LOAD_EXAMPLES=False \
    LIFECYCLE_DBT_PROJECT_DIR=/opt/lifecycle/dbt_project
RUN pip install --no-cache-dir uv==0.13.8
WORKDIR /opt/lifecycle
COPY requirements.txt pyproject.toml ./
# compiled at install: PYTHONDONTWRITEBYTECODE stops Python from caching bytecode, so every task's dbt
# and Airflow process would compile its imports again (about 3 s each)
RUN uv pip install --system --no-cache --compile-bytecode -r requirements.txt
COPY . .
RUN uv pip install --system --no-cache --no-deps -e .
