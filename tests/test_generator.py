"""The synthetic business: byte-for-byte reproducible, shaped exactly like the data contract, and
internally consistent (billing, usage, support and consent tell one story inside the window)."""

from __future__ import annotations

import runpy
import sys
import zoneinfo
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import phonenumbers
import pyarrow.parquet as pq
import pytest

from lifecycle.landing.contract import CONTRACT
from synthetic_business import generate_business
from synthetic_business.catalog import PLAN_IDS, PLAN_MRR, PRODUCT_IDS
from synthetic_business.cli import main
from synthetic_business.geography import COUNTRIES
from synthetic_business.phones import mobile_numbers
from tests.conftest import AS_OF, SMALL_BUSINESS

END_OF_DATA = datetime.combine(AS_OF, datetime.max.time())
START_OF_DATA = datetime.combine(date(AS_OF.year - 3, AS_OF.month, AS_OF.day), datetime.min.time())


@pytest.fixture(scope="module")
def db(small_business_landing: Path) -> duckdb.DuckDBPyConnection:
    """The small business as DuckDB views named like the tables."""
    connection = duckdb.connect()
    for table in CONTRACT:
        connection.execute(
            f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{small_business_landing}/{table}.parquet')"
        )
    return connection


def scalar(db: duckdb.DuckDBPyConnection, sql: str) -> object:
    return db.execute(sql).fetchone()[0]


def test_same_arguments_write_byte_identical_files(small_business_landing: Path, tmp_path: Path) -> None:
    counts = generate_business(out_dir=tmp_path, **SMALL_BUSINESS)
    for table in CONTRACT.values():
        fresh, session = tmp_path / table.file_name, small_business_landing / table.file_name
        assert fresh.read_bytes() == session.read_bytes(), table.name
        assert pq.read_metadata(fresh).num_rows == counts[table.name]


def test_usage_events_land_in_time_order_with_ids_in_that_order(
    db: duckdb.DuckDBPyConnection, small_business_landing: Path
) -> None:
    out_of_order = scalar(
        db,
        "SELECT count(*) FROM (SELECT occurred_at, event_id, row_number() OVER () AS position,"
        " lag(occurred_at) OVER () AS previous FROM usage_events)"
        " WHERE previous > occurred_at OR event_id <> position",
    )
    assert out_of_order == 0
    assert [path.name for path in small_business_landing.iterdir() if path.name.startswith(".")] == []


def test_another_seed_gives_another_business(small_business_landing: Path, tmp_path: Path) -> None:
    generate_business(out_dir=tmp_path, **{**SMALL_BUSINESS, "seed": SMALL_BUSINESS["seed"] + 1})
    for table in ("customers", "contacts", "subscription_events", "usage_events"):
        assert (tmp_path / f"{table}.parquet").read_bytes() != (
            small_business_landing / f"{table}.parquet"
        ).read_bytes()


def test_every_file_has_exactly_the_contract_columns_and_arrow_types(small_business_landing: Path) -> None:
    for table in CONTRACT.values():
        schema = pq.read_schema(small_business_landing / table.file_name)
        expected = table.arrow_schema()
        assert [(field.name, field.type) for field in schema] == [
            (field.name, field.type) for field in expected
        ]


def test_keys_are_unique_and_required_columns_are_filled(small_business_landing: Path) -> None:
    for table in CONTRACT.values():
        data = pq.read_table(small_business_landing / table.file_name)
        assert data.num_rows > 0, table.name
        key = data.column(table.key.name)
        assert key.null_count == 0 and len(key.unique()) == data.num_rows, table.name
        for column in table.columns:
            if not column.nullable:
                assert data.column(column.name).null_count == 0, f"{table.name}.{column.name}"


def test_nothing_happens_outside_the_window(db: duckdb.DuckDBPyConnection) -> None:
    moments = {
        "customers": ["created_at"],
        "contacts": ["created_at"],
        "consents": ["recorded_at"],
        "subscriptions": ["created_at"],
        "subscription_events": ["occurred_at"],
        "usage_events": ["occurred_at"],
        "support_tickets": ["opened_at", "closed_at"],
        "nps_responses": ["responded_at"],
    }
    for table, columns in moments.items():
        for column in columns:
            first, last = db.execute(f"SELECT min({column}), max({column}) FROM {table}").fetchone()
            assert first >= START_OF_DATA and last <= END_OF_DATA, f"{table}.{column}: {first} .. {last}"


def test_customers_sign_up_on_every_recent_day_including_the_last(db: duckdb.DuckDBPyConnection) -> None:
    days = {row[0] for row in db.execute("SELECT DISTINCT created_at::DATE FROM customers").fetchall()}
    assert all(AS_OF - timedelta(days=back) in days for back in range(60))
    yearly = db.execute("SELECT year(created_at), count(*) FROM customers GROUP BY 1 ORDER BY 1").fetchall()
    assert yearly[-2][1] > yearly[1][1], "sign-ups grow over the years"


def test_phones_are_e164_mobile_numbers_of_the_contacts_country(db: duckdb.DuckDBPyConnection) -> None:
    rows = db.execute(
        "SELECT phone, country_code FROM contacts JOIN customers USING (customer_id)"
    ).fetchall()
    phones = [(phone, country) for phone, country in rows if phone is not None]
    assert 0.2 < 1 - len(phones) / len(rows) < 0.4, "about 30% of contacts have no phone"
    for phone, country in phones:
        parsed = phonenumbers.parse(phone)
        assert phonenumbers.is_valid_number_for_region(parsed, country), phone
        assert phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) == phone
    assert len({phone for phone, _ in phones}) == len(phones)


@pytest.mark.parametrize("country", COUNTRIES, ids=lambda country: country.code)
def test_every_country_number_plan_gives_valid_distinct_mobiles(country) -> None:
    number = [spec.code for spec in COUNTRIES].index(country.code)
    phones = mobile_numbers(np.random.default_rng(0), np.full(400, number)).to_pylist()
    assert len(set(phones)) == len(phones)
    for phone in phones:
        parsed = phonenumbers.parse(phone)
        assert phonenumbers.is_valid_number_for_region(parsed, country.code), phone
        assert phonenumbers.number_type(parsed) in (
            phonenumbers.PhoneNumberType.MOBILE,
            phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
        ), phone


def test_time_zones_are_iana_names_that_match_the_country(db: duckdb.DuckDBPyConnection) -> None:
    zones_by_country = {country.code: {zone for zone, _ in country.zones} for country in COUNTRIES}
    rows = db.execute(
        "SELECT time_zone, country_code FROM contacts JOIN customers USING (customer_id)"
    ).fetchall()
    known = [(zone, country) for zone, country in rows if zone is not None]
    assert 0 < len(rows) - len(known) < 0.05 * len(rows), "about 2% of contacts have no time zone"
    for zone, country in known:
        zoneinfo.ZoneInfo(zone)
        assert zone in zones_by_country[country], (zone, country)
    continents = {zone.split("/")[0] for zone, _ in known}
    assert {"America", "Europe", "Asia", "Australia"} <= continents


def test_emails_use_reserved_example_domains_and_names_are_varied(db: duckdb.DuckDBPyConnection) -> None:
    emails = [email for (email,) in db.execute("SELECT email FROM contacts").fetchall()]
    domains = {email.rsplit("@", 1)[1].rsplit(".", 2)[-2:][0] for email in emails}
    assert domains == {"example"}, domains
    assert all(email.rsplit(".", 1)[1] in {"com", "org", "net"} for email in emails)
    assert any("+" in email.split("@")[0] for email in emails), "some plus-addressing"
    names = [name for (name,) in db.execute("SELECT first_name || ' ' || last_name FROM contacts").fetchall()]
    assert any(not name.isascii() for name in names), "some Unicode names"
    assert scalar(db, "SELECT count(*) FROM contacts WHERE is_primary") == scalar(
        db, "SELECT count(*) FROM customers"
    )


def test_trials_convert_or_expire(db: duckdb.DuckDBPyConnection) -> None:
    converted = scalar(db, "SELECT count(*) FROM subscription_events WHERE event_type = 'trial_converted'")
    expired = scalar(db, "SELECT count(*) FROM subscription_events WHERE event_type = 'trial_expired'")
    assert 0.25 < converted / (converted + expired) < 0.45
    assert scalar(db, "SELECT count(*) FROM subscription_events WHERE event_type = 'new'") > 0
    mismatched = scalar(
        db,
        "SELECT count(*) FROM subscription_events e JOIN subscriptions s USING (subscription_id) "
        "WHERE e.event_type = 'trial_expired' AND e.occurred_at <> s.trial_ends_at",
    )
    assert mismatched == 0, "a trial expires when it ends"


def test_an_annual_plan_started_on_feb_29_renews_on_feb_28(db: duckdb.DuckDBPyConnection) -> None:
    customer = scalar(
        db,
        "SELECT customer_id FROM subscription_events WHERE occurred_at::DATE = DATE '2024-02-29' "
        "AND event_type = 'new' AND plan_id LIKE '%annual'",
    )
    history = db.execute(
        "SELECT event_type, occurred_at::DATE, period_end FROM subscription_events "
        f"WHERE customer_id = '{customer}' AND period_end IS NOT NULL ORDER BY occurred_at"
    ).fetchall()
    assert history[:3] == [
        ("new", date(2024, 2, 29), date(2025, 2, 28)),
        ("renewal", date(2025, 2, 28), date(2026, 2, 28)),
        ("renewal", date(2026, 2, 28), date(2027, 2, 28)),
    ]


def test_mrr_after_follows_the_plan_and_add_ons(db: duckdb.DuckDBPyConnection) -> None:
    plan_mrr = dict(zip(PLAN_IDS, PLAN_MRR, strict=True))
    addon_price = dict(db.execute("SELECT product_id, monthly_price FROM products").fetchall())
    events = db.execute(
        "SELECT subscription_id, event_type, plan_id, product_id, mrr_after FROM subscription_events "
        "ORDER BY subscription_id, occurred_at, event_id"
    ).fetchall()
    state: dict[str, tuple[str | None, set[str]]] = {}
    for subscription, kind, plan, product, mrr_after in events:
        current_plan, addons = state.get(subscription, (None, set()))
        if kind == "addon_purchased":
            addons = addons | {product}
        elif kind == "addon_removed":
            addons = addons - {product}
        elif kind in ("cancel", "trial_expired"):
            current_plan, addons = None, set()
        elif plan is not None:
            current_plan = plan
        state[subscription] = (current_plan, addons)
        expected = (
            0.0 if current_plan is None else plan_mrr[current_plan] + sum(addon_price[a] for a in addons)
        )
        assert mrr_after >= 0
        assert mrr_after == pytest.approx(expected), (subscription, kind)
    assert set(PRODUCT_IDS) - {"core"} <= set(addon_price)


def test_lifecycles_are_ordered_and_include_churn_and_reactivation(db: duckdb.DuckDBPyConnection) -> None:
    firsts = db.execute(
        "SELECT arg_min(event_type, occurred_at), count(*) FROM subscription_events GROUP BY subscription_id"
    ).fetchall()
    assert {first for first, _ in firsts} == {"trial_started", "new"}
    counts = dict(db.execute("SELECT event_type, count(*) FROM subscription_events GROUP BY 1").fetchall())
    assert counts["cancel"] > 0 and counts["reactivate"] > 0 and counts["payment_failed"] > 0
    assert counts["upgrade"] > 0 and counts["downgrade"] > 0 and counts["addon_purchased"] > 0
    reactivated_without_cancel = scalar(
        db,
        "SELECT count(*) FROM subscription_events r WHERE event_type = 'reactivate' AND NOT EXISTS ("
        "SELECT 1 FROM subscription_events c WHERE c.subscription_id = r.subscription_id "
        "AND c.event_type = 'cancel' AND c.occurred_at < r.occurred_at)",
    )
    assert reactivated_without_cancel == 0


def test_usage_is_uneven_weekly_and_signals_needs(db: duckdb.DuckDBPyConnection) -> None:
    per_customer = db.execute(
        "SELECT count(*) FILTER (WHERE event_type = 'login') FROM customers LEFT JOIN usage_events USING (customer_id) "
        "GROUP BY customer_id ORDER BY 1"
    ).fetchall()
    active_weeks = np.array([weeks for (weeks,) in per_customer])
    assert np.percentile(active_weeks, 90) > 5 * max(np.percentile(active_weeks, 25), 1), (
        "power users and dormant"
    )
    rows_per_customer = scalar(db, "SELECT count(*) FROM usage_events") / scalar(
        db, "SELECT count(*) FROM customers"
    )
    assert 20 < rows_per_customer < 100
    snapshot_times = db.execute(
        "SELECT DISTINCT dayofweek(occurred_at), hour(occurred_at) FROM usage_events WHERE event_type LIKE '%snapshot'"
    ).fetchall()
    assert snapshot_times == [(1, 3)], "weekly snapshots, Mondays 03:00 UTC"
    features = {row[0] for row in db.execute("SELECT DISTINCT feature FROM usage_events").fetchall()}
    assert features == {
        None,
        "projects",
        "reports",
        "automation",
        "integrations",
        "api",
        "sso",
        "onboarding_checklist",
    }
    beyond_quota = scalar(
        db,
        "SELECT count(DISTINCT u.customer_id) FROM usage_events u ASOF JOIN "
        "(SELECT customer_id, occurred_at, plan_id FROM subscription_events WHERE plan_id IS NOT NULL) p "
        "ON u.customer_id = p.customer_id AND u.occurred_at >= p.occurred_at JOIN plans USING (plan_id) "
        "WHERE u.event_type = 'storage_snapshot' AND u.quantity > storage_quota_gb",
    )
    assert beyond_quota > 0, "some accounts outgrow their storage quota"


def test_add_ons_go_to_heavy_users_of_their_need_feature(db: duckdb.DuckDBPyConnection) -> None:
    buyers_use, others_use = db.execute(
        "WITH reports AS (SELECT customer_id, sum(quantity) AS uses FROM usage_events "
        "  WHERE feature = 'reports' GROUP BY 1), "
        "buyers AS (SELECT DISTINCT customer_id FROM subscription_events "
        "  WHERE event_type = 'addon_purchased' AND product_id = 'analytics_addon'), "
        "paying AS (SELECT DISTINCT customer_id FROM subscription_events WHERE mrr_after > 0) "
        "SELECT avg(coalesce(uses, 0)) FILTER (WHERE b.customer_id IS NOT NULL), "
        "avg(coalesce(uses, 0)) FILTER (WHERE b.customer_id IS NULL) "
        "FROM paying LEFT JOIN buyers b USING (customer_id) LEFT JOIN reports USING (customer_id)"
    ).fetchone()
    assert buyers_use > 2 * others_use


def test_most_active_customers_complete_onboarding_within_days(db: duckdb.DuckDBPyConnection) -> None:
    completed, active, late = db.execute(
        "WITH done AS (SELECT customer_id, min(occurred_at) AS at FROM usage_events "
        "  WHERE feature = 'onboarding_checklist' GROUP BY 1), "
        "active AS (SELECT customer_id FROM usage_events WHERE event_type = 'login' GROUP BY 1 HAVING count(*) >= 8) "
        "SELECT count(done.customer_id), count(*), count(*) FILTER (WHERE done.at > c.created_at + INTERVAL 14 DAY) "
        "FROM active JOIN customers c USING (customer_id) LEFT JOIN done USING (customer_id)"
    ).fetchone()
    assert completed > 0.75 * active and late == 0


def test_support_has_urgent_tickets_open_at_the_end_and_nps_skews_positive(
    db: duckdb.DuckDBPyConnection,
) -> None:
    open_urgent = scalar(
        db, "SELECT count(*) FROM support_tickets WHERE closed_at IS NULL AND priority IN ('high', 'urgent')"
    )
    assert open_urgent > 0
    assert scalar(db, "SELECT count(*) FROM support_tickets WHERE closed_at < opened_at") == 0
    promoters, detractors, low, high = db.execute(
        "SELECT count(*) FILTER (WHERE score >= 9), count(*) FILTER (WHERE score <= 6), min(score), max(score) "
        "FROM nps_responses"
    ).fetchone()
    assert promoters > detractors > 0 and (low, high) == (0, 10)


def test_consent_history_has_provenance(db: duckdb.DuckDBPyConnection) -> None:
    by_kind = dict(
        db.execute(
            "SELECT channel || ':' || status || ':' || source, count(*) FROM consents GROUP BY 1"
        ).fetchall()
    )
    contacts = scalar(db, "SELECT count(*) FROM contacts")
    assert by_kind["email:granted:signup_form"] > 0.5 * contacts
    assert 0 < by_kind["sms:granted:checkout"] + by_kind["sms:granted:preference_center"] < 0.4 * contacts
    assert by_kind["sms:revoked:sms_keyword"] > 0
    before_contact = scalar(
        db, "SELECT count(*) FROM consents JOIN contacts USING (contact_id) WHERE recorded_at < created_at"
    )
    assert before_contact == 0


def test_cli_writes_the_landing_folder_and_a_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "landing"
    assert main(["--customers", "50", "--seed", "3", "--end", "2026-11-20", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert sorted(path.name for path in out.iterdir()) == sorted(
        table.file_name for table in CONTRACT.values()
    )
    assert "usage_events" in captured.err and "rows" in captured.err
    assert "total" in captured.out
    assert main(["--customers", "0", "--out", str(out)]) == 2


def test_runs_as_a_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    argv = ["synthetic_business", "--customers", "20", "--end", "2026-01-31", "--out", str(tmp_path)]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as exited:
        runpy.run_module("synthetic_business", run_name="__main__")
    assert exited.value.code == 0 and (tmp_path / "nps_responses.parquet").exists()
