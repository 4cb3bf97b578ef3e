"""``generate-business``: write a synthetic SaaS business into the landing folder."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

from lifecycle.settings import load_settings

from .generate import DEFAULT_YEARS, generate_business


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; use YYYY-MM-DD") from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="generate-business",
        description="Generate a realistic synthetic SaaS business as the ten raw tables of "
        "docs/data-contract.md (one Parquet file each). Same arguments, same bytes.",
    )
    parser.add_argument("--customers", type=int, default=1000, help="accounts to sign up (default: 1000)")
    parser.add_argument("--seed", type=int, default=42, help="random seed (default: 42)")
    parser.add_argument(
        "--end",
        type=_iso_date,
        default=None,
        help="last simulated day, YYYY-MM-DD (default: today, UTC)",
    )
    parser.add_argument(
        "--start",
        type=_iso_date,
        default=None,
        help=f"first simulated day, YYYY-MM-DD (default: {DEFAULT_YEARS} years before --end)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="landing folder (default: $LIFECYCLE_LANDING_DIR, else data/landing in the repository)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    end = args.end or datetime.now(UTC).date()
    # The pipeline's own setting, so both agree ($LIFECYCLE_LANDING_DIR, else <data dir>/landing).
    out = args.out or load_settings().landing_dir
    print(f"generate-business: {args.customers:,} customers, seed {args.seed}, into {out}", file=sys.stderr)
    started = time.perf_counter()
    try:
        counts = generate_business(
            out_dir=out,
            customers=args.customers,
            seed=args.seed,
            end_date=end,
            start_date=args.start,
            progress=True,
        )
    except ValueError as error:
        print(f"generate-business: {error}", file=sys.stderr)
        return 2
    elapsed = time.perf_counter() - started
    size = sum((out / f"{table}.parquet").stat().st_size for table in counts)
    for table, rows in counts.items():
        print(f"{table:<20} {rows:>12,}")
    print(f"{'total':<20} {sum(counts.values()):>12,} rows, {size / 1e6:,.1f} MB in {out} ({elapsed:.1f} s)")
    return 0
