"""``lifecycle``: the pipeline's steps from a shell, the same functions the DAG tasks call."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import UTC, date, datetime

from lifecycle import daily
from lifecycle.ops_store import connect, ledger, migrate
from lifecycle.planning.planner import ContractViolation
from lifecycle.sequences import SequenceProblems, validate
from lifecycle.settings import load_settings
from lifecycle.warehouse.reader import WarehouseUnavailable


def _as_of(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date; use YYYY-MM-DD") from None


def _print(result: object) -> None:
    print(json.dumps(result, indent=2, default=str))


def _sample_size(value: str) -> int:
    if not value.isdigit():
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of messages (0 or more)")
    return int(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lifecycle", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("check-landing", help="check the landing files against docs/data-contract.md")
    commands.add_parser("migrate", help="create or upgrade the operational store's tables")
    commands.add_parser(
        "load-postgres",
        help="replace the PostgreSQL landing and ops tables with the landing folder's Parquet files "
        "(for dbt's postgres target; connection from LIFECYCLE_PG_*)",
    )
    commands.add_parser("export", help="export the ledger to the landing folder for dbt")
    commands.add_parser("ledger", help="count ledger messages by state")
    plan = commands.add_parser("plan", help="plan the due messages of a day into the ledger")
    dispatch = commands.add_parser("dispatch", help="send the planned messages that are due")
    today = datetime.now(UTC).date()
    for sub in (plan, dispatch):
        sub.add_argument("--as-of", type=_as_of, default=today, help="the run date (default: today, UTC)")
    dispatch.add_argument("--send-mode", choices=["auto", "live", "simulate"], default="auto")
    commands.add_parser(
        "check-sequences", help="check that every sequence step's templates exist and render (sends nothing)"
    )
    preview = commands.add_parser(
        "preview", help="show what would go out on a day, from the warehouse dbt built for it (sends nothing)"
    )
    preview.add_argument("--date", type=_as_of, required=True, help="the as-of date dbt built (YYYY-MM-DD)")
    preview.add_argument(
        "--sample", type=_sample_size, default=2, help="rendered messages shown per sequence (default 2)"
    )
    args = parser.parse_args(argv)
    # Logs go to stderr so the command's JSON result on stdout stays parseable.
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)

    settings = load_settings()
    if args.command == "check-landing":
        try:
            count = daily.check_landing_files(settings)
        except daily.LandingProblems as exc:
            print(exc, file=sys.stderr)
            return 1
        print(f"{settings.landing_dir}: the landing files meet the data contract ({count} warning(s))")
    elif args.command == "load-postgres":
        from lifecycle.landing import postgres_load

        try:
            _print(
                postgres_load.load_landing(
                    postgres_load.conninfo_from_env(), settings.landing_dir, settings.dbt_project_dir
                )
            )
        except postgres_load.LandingLoadError as exc:
            print(exc, file=sys.stderr)
            return 1
    elif args.command == "migrate":
        migrate(connect(settings.ops_db_url))
        print(f"operational store up to date: {settings.ops_db_url.split('@')[-1]}")
    elif args.command == "export":
        _print(daily.export_ops(settings))
    elif args.command == "ledger":
        engine = connect(settings.ops_db_url)
        migrate(engine)
        _print(ledger.state_counts(engine))
    elif args.command == "plan":
        _print(daily.plan(args.as_of, settings).as_dict())
    elif args.command == "dispatch":
        _print(daily.dispatch(args.as_of, args.send_mode, settings).as_dict())
    elif args.command in ("check-sequences", "preview"):
        try:
            if args.command == "check-sequences":
                sequences = validate(settings.dbt_project_dir, settings.templates_dir, settings.brand)
                steps = sum(len(s.steps) for s in sequences)
                print(f"{len(sequences)} sequences, {steps} steps: every template exists and renders")
                return 0
            from lifecycle import preview as previews

            shown = previews.build_preview(settings, args.date, args.sample)
            print(previews.format_preview(shown))
            previews.save(settings, shown)
        except (SequenceProblems, ContractViolation, WarehouseUnavailable) as exc:
            print(exc, file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
