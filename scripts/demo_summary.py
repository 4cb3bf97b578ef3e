"""What the demo run left behind, printed for a person: the warehouse's view and one rendered email."""

from __future__ import annotations

import json
import sys
import urllib.request

import duckdb

from lifecycle.settings import load_settings

SANDBOX_MESSAGES = "http://127.0.0.1:8025/_sandbox/messages"


def main(as_of: str) -> None:
    settings = load_settings()
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as warehouse:
        print(f"\nCustomers by lifecycle stage as of {as_of}:")
        print(
            warehouse.sql(
                "select lifecycle_stage, count(*) as customers from customers group by 1 order by 2 desc"
            )
        )
        print("Messages as the warehouse sees them (message_outcomes):")
        print(
            warehouse.sql(
                "select sequence, step, channel, state, count(*) as messages from message_outcomes group by all order by all"
            )
        )
        [(waiting,)] = warehouse.sql(
            "select count(*) from message_outcomes where state = 'planned'"
        ).fetchall()
    if waiting:
        print(
            f"{waiting} message(s) wait for their recipient's local send window; the hourly "
            "lifecycle_dispatch DAG sends them as each window opens (make airflow-ui)."
        )
    print(f"What went out and why, with rendered samples: make preview AS_OF={as_of}")
    with urllib.request.urlopen(SANDBOX_MESSAGES, timeout=10) as response:
        messages = json.load(response)
    print(f"The local SendGrid server accepted {len(messages)} email(s).")
    if messages:
        first = messages[0]
        preview = settings.data_dir / "previews" / "first_email.html"
        preview.parent.mkdir(parents=True, exist_ok=True)
        html = next(c["value"] for c in first["content"] if c["type"] == "text/html")
        preview.write_text(html)
        print(f"First one: subject {first['subject']!r}; rendered HTML saved to {preview}")


if __name__ == "__main__":
    main(sys.argv[1])
