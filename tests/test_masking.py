import logging
import os
import subprocess
import sys

from lifecycle.masking import install_pii_masking, mask_email, mask_phone, mask_pii


def test_email_and_phone_are_masked():
    assert mask_email("jane.doe+trial@example.com") == "j***@e***.com"
    assert mask_phone("+14155550123") == "+1******0123"
    assert mask_pii("to jane@example.org or +61412345678, key welcome:C1") == (
        "to j***@e***.org or +6******5678, key welcome:C1"
    )


def test_log_records_are_masked_whatever_handlers_are_installed_later(caplog):
    install_pii_masking()
    install_pii_masking()  # idempotent
    logging.getLogger().handlers.append(logging.StreamHandler())  # e.g. Airflow replacing handlers
    try:
        logging.getLogger("test_masking").warning("sent to %s at %s", "bob@example.com", "+447700900123")
    finally:
        logging.getLogger().handlers.pop()
    assert "bob@example.com" not in caplog.text and "+447700900123" not in caplog.text
    assert "b***@e***.com" in caplog.text and "+4*******0123" in caplog.text


def test_the_cli_masks_recipients_in_its_logs(tmp_path, monkeypatch):
    """The dispatch command imports Airflow (which replaces log handlers) and still masks."""
    env = {
        **os.environ,
        "LIFECYCLE_DATA_DIR": str(tmp_path),
        "LIFECYCLE_OPS_DB_URL": f"sqlite:///{tmp_path / 'ops.sqlite'}",
        "AIRFLOW_CONN_SENDGRID_DEFAULT": '{"conn_type": "http", "host": "http://127.0.0.1:9", "password": "x"}',
    }
    script = (
        "import logging, sys\n"
        "from lifecycle import daily\n"
        "daily.provider_senders()\n"
        "logging.basicConfig(level=logging.INFO)\n"
        "logging.getLogger('x').warning('to %s', 'carol@example.org')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "carol@example.org" not in result.stdout + result.stderr
    assert "c***@e***.org" in result.stdout + result.stderr
