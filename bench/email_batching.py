"""How many SendGrid requests a real day's emails need: distinct rendered contents per sequence step.

    flock /tmp/lifecycle-bench.lock .venv/bin/python bench/email_batching.py [--quick] [--warehouse PATH]

Recipients of one step share a request (up to 1,000) when their rendered emails are identical apart
from the SendGrid substitutions (``lifecycle.dispatch.email_batches``). This reads a day's
``due_messages`` from a built warehouse (by default it generates a business of ``--customers`` and
builds it, as ``bench/warehouse_build.py`` does) and counts, per template, the emails and the distinct
contents, which is the least number of requests. The baseline in the same run is the earlier rule, in
which only ``first_name`` and the unsubscribe link were substituted: every other per-recipient field
was part of the content, so it needed at least one request per distinct rest of the context.
It also checks, on a sample of up to ``--check`` emails, that the substituted email equals the plain
rendering exactly. Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import duckdb
from _common import machine, table
from warehouse_build import FULL_AS_OF, dbt_build, generate

from lifecycle.dispatch.dispatcher import BRAND_FIELDS, channel_context
from lifecycle.dispatch.email_batches import BatchRenderer, substitutions_for
from lifecycle.sequences import template_context
from lifecycle.settings import REPO_ROOT, load_settings
from lifecycle.templating import TemplateRenderer

UNSUBSCRIBE = "https://hooks.example/unsubscribe?m=key&s=signature"


def due_emails(warehouse: Path) -> list[tuple[str, dict]]:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        rows = conn.execute(
            "select sequence, step, template, entry_reason, personalization_json"
            " from due_messages where channel = 'email'"
        ).fetchall()
    return [(t, template_context(seq, step, reason, json.loads(p))) for seq, step, t, reason, p in rows]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10,000 customers")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--warehouse", type=Path, help="a built warehouse (skips generating one)")
    parser.add_argument("--check", type=int, default=3000, help="emails compared with the plain rendering")
    args = parser.parse_args(argv)
    print(f"Email batching: {machine()}")
    settings = load_settings()
    with tempfile.TemporaryDirectory(prefix="email_batching_") as tmp:
        warehouse = args.warehouse
        if warehouse is None:
            customers = 10_000 if args.quick else args.customers
            work = Path(tmp)
            print(f"generating {customers:,} customers and building the warehouse as of {FULL_AS_OF} ...")
            generate(customers, work / "landing", work)
            warehouse = work / "warehouse.duckdb"
            build = dbt_build(
                "full", REPO_ROOT / "dbt_project", work / "landing", warehouse, work / "dbt", FULL_AS_OF
            )
            if build.measured.returncode:
                return 1
        emails = due_emails(warehouse)

    batches = BatchRenderer(TemplateRenderer(settings.templates_dir))
    plain = TemplateRenderer(settings.templates_dir)
    now: dict[str, set[str]] = defaultdict(set)
    before: dict[str, set[str]] = defaultdict(set)
    count: Counter[str] = Counter()
    checked = 0
    step = max(1, len(emails) // max(1, args.check))
    for i, (template, personal) in enumerate(emails):
        context = channel_context(personal, settings.brand, "email", UNSUBSCRIBE)
        substituted = batches.substituted(template, context, [n for n in context if n not in BRAND_FIELDS])
        tagged, digest = batches.render(template, context, substituted)
        now[template].add(digest)
        before[template].add(
            json.dumps({k: v for k, v in personal.items() if k != "first_name"}, sort_keys=True)
        )
        count[template] += 1
        if i % step == 0:
            values = substitutions_for(context, substituted)
            parts = [tagged.subject, tagged.html, tagged.text]
            for tag, value in values.items():
                parts = [part.replace(tag, value) for part in parts]
            expected = plain.render_email(template, context)
            if parts != [expected.subject, expected.html, expected.text]:
                raise SystemExit(f"{template}: the substituted email differs from the plain rendering")
            checked += 1

    rows = [
        [t, f"{count[t]:,}", f"{len(before[t]):,}", f"{len(now[t]):,}", count[t] / len(now[t])]
        for t in sorted(count)
    ]
    total, total_before, total_now = (
        sum(count.values()),
        sum(map(len, before.values())),
        sum(map(len, now.values())),
    )
    rows.append(["all", f"{total:,}", f"{total_before:,}", f"{total_now:,}", total / max(1, total_now)])
    headers = ["template", "emails", "contents before (min requests)", "contents now", "emails per content"]
    print(table(headers, rows))
    print(f"{checked:,} emails checked: substituted = plain rendering, exactly")
    return 0


if __name__ == "__main__":
    sys.exit(main())
