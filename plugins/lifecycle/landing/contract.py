"""The raw data contract (docs/data-contract.md) as data, so the generator and the checker share it.

Each table lists its columns in file order with the contract type, nullability, key, accepted values,
foreign key and value rules. ``tests/test_landing_check.py`` keeps this module and the document in step.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

E164_PATTERN = r"^\+[1-9][0-9]{6,14}$"
COUNTRY_CODE_PATTERN = r"^[A-Z]{2}$"
LOCALE_PATTERN = r"^[a-z]{2,3}(-[A-Za-z0-9]{1,8})*$"
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"

ARROW_TYPES: dict[str, pa.DataType] = {
    "varchar": pa.string(),
    "timestamp": pa.timestamp("us"),
    "date": pa.date32(),
    "double": pa.float64(),
    "integer": pa.int32(),
    "bigint": pa.int64(),
    "boolean": pa.bool_(),
}


@dataclass(frozen=True)
class Column:
    """One contract column. ``pattern`` and ``iana_time_zone`` describe values a row needs to be reachable."""

    name: str
    type: str
    nullable: bool = False
    key: bool = False
    accepted_values: tuple[str, ...] = ()
    references: tuple[str, str] | None = None
    pattern: str | None = None
    pattern_meaning: str = ""
    iana_time_zone: bool = False
    min_value: float | None = None
    max_value: float | None = None


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]

    @property
    def key(self) -> Column:
        return next(column for column in self.columns if column.key)

    @property
    def file_name(self) -> str:
        return f"{self.name}.parquet"

    def arrow_schema(self) -> pa.Schema:
        return pa.schema([pa.field(c.name, ARROW_TYPES[c.type], nullable=c.nullable) for c in self.columns])


def _key(name: str, type_: str = "varchar") -> Column:
    return Column(name, type_, key=True)


def _ref(name: str, table: str, column: str, *, nullable: bool = False) -> Column:
    return Column(name, "varchar", nullable=nullable, references=(table, column))


def _money(name: str) -> Column:
    return Column(name, "double", min_value=0)


def _timestamp(name: str, *, nullable: bool = False) -> Column:
    return Column(name, "timestamp", nullable=nullable)


TIERS = ("starter", "team", "business", "enterprise")
BILLING_PERIODS = ("monthly", "annual")
EMPLOYEE_BANDS = ("1-10", "11-50", "51-200", "201-1000", "1000+")
ACQUISITION_CHANNELS = ("organic", "paid_search", "referral", "partner", "sales")
CONSENT_SOURCES = ("signup_form", "checkout", "preference_center", "sms_keyword", "support_request", "import")
SUBSCRIPTION_EVENT_TYPES = (
    "trial_started",
    "trial_converted",
    "trial_expired",
    "new",
    "upgrade",
    "downgrade",
    "addon_purchased",
    "addon_removed",
    "renewal",
    "payment_failed",
    "cancel",
    "reactivate",
)
USAGE_EVENT_TYPES = ("login", "feature_used", "invite_sent", "seats_snapshot", "storage_snapshot")
FEATURES = ("projects", "reports", "automation", "integrations", "api", "sso", "onboarding_checklist")
TICKET_PRIORITIES = ("low", "normal", "high", "urgent")
TICKET_CATEGORIES = ("billing", "bug", "how_to", "feature_request", "outage")

_TABLES = (
    Table(
        "plans",
        (
            _key("plan_id"),
            Column("plan_name", "varchar"),
            Column("tier", "varchar", accepted_values=TIERS),
            Column("tier_rank", "integer", min_value=1),
            Column("billing_period", "varchar", accepted_values=BILLING_PERIODS),
            _money("list_price"),
            Column("seat_quota", "integer", min_value=0),
            Column("storage_quota_gb", "integer", min_value=0),
        ),
    ),
    Table(
        "products",
        (
            _key("product_id"),
            Column("product_name", "varchar"),
            Column("product_kind", "varchar", accepted_values=("core", "addon")),
            _ref("complements_product_id", "products", "product_id", nullable=True),
            _money("monthly_price"),
            Column("need_signal_feature", "varchar", nullable=True, accepted_values=FEATURES),
            Column("need_reason", "varchar", nullable=True),
        ),
    ),
    Table(
        "customers",
        (
            _key("customer_id"),
            Column("company_name", "varchar"),
            Column("industry", "varchar"),
            Column("employee_band", "varchar", accepted_values=EMPLOYEE_BANDS),
            Column(
                "country_code",
                "varchar",
                pattern=COUNTRY_CODE_PATTERN,
                pattern_meaning="an ISO 3166-1 alpha-2 code such as US or DE",
            ),
            _timestamp("created_at"),
            Column("acquisition_channel", "varchar", accepted_values=ACQUISITION_CHANNELS),
        ),
    ),
    Table(
        "contacts",
        (
            _key("contact_id"),
            _ref("customer_id", "customers", "customer_id"),
            Column("first_name", "varchar"),
            Column("last_name", "varchar"),
            Column(
                "email", "varchar", pattern=EMAIL_PATTERN, pattern_meaning="an email address (name@domain)"
            ),
            Column(
                "phone",
                "varchar",
                nullable=True,
                pattern=E164_PATTERN,
                pattern_meaning="E.164 such as +14155550123 (plus sign, country code, digits only)",
            ),
            Column("time_zone", "varchar", nullable=True, iana_time_zone=True),
            Column(
                "locale",
                "varchar",
                pattern=LOCALE_PATTERN,
                pattern_meaning="a BCP 47 tag such as en-US or de-DE",
            ),
            Column("is_primary", "boolean"),
            _timestamp("created_at"),
        ),
    ),
    Table(
        "consents",
        (
            _key("consent_id"),
            _ref("contact_id", "contacts", "contact_id"),
            Column("channel", "varchar", accepted_values=("email", "sms")),
            Column("status", "varchar", accepted_values=("granted", "revoked")),
            _timestamp("recorded_at"),
            Column("source", "varchar", accepted_values=CONSENT_SOURCES),
            Column("evidence", "varchar", nullable=True),
        ),
    ),
    Table(
        "subscriptions",
        (
            _key("subscription_id"),
            _ref("customer_id", "customers", "customer_id"),
            _timestamp("created_at"),
            _timestamp("trial_ends_at", nullable=True),
        ),
    ),
    Table(
        "subscription_events",
        (
            _key("event_id"),
            _ref("subscription_id", "subscriptions", "subscription_id"),
            _ref("customer_id", "customers", "customer_id"),
            Column("event_type", "varchar", accepted_values=SUBSCRIPTION_EVENT_TYPES),
            _timestamp("occurred_at"),
            _ref("plan_id", "plans", "plan_id", nullable=True),
            _ref("product_id", "products", "product_id"),
            _money("amount"),
            _money("mrr_after"),
            Column("period_end", "date", nullable=True),
        ),
    ),
    Table(
        "usage_events",
        (
            _key("event_id", "bigint"),
            _ref("customer_id", "customers", "customer_id"),
            _ref("contact_id", "contacts", "contact_id", nullable=True),
            _timestamp("occurred_at"),
            Column("event_type", "varchar", accepted_values=USAGE_EVENT_TYPES),
            Column("feature", "varchar", nullable=True, accepted_values=FEATURES),
            Column("quantity", "double", min_value=0),
        ),
    ),
    Table(
        "support_tickets",
        (
            _key("ticket_id"),
            _ref("customer_id", "customers", "customer_id"),
            _timestamp("opened_at"),
            _timestamp("closed_at", nullable=True),
            Column("priority", "varchar", accepted_values=TICKET_PRIORITIES),
            Column("category", "varchar", accepted_values=TICKET_CATEGORIES),
        ),
    ),
    Table(
        "nps_responses",
        (
            _key("response_id"),
            _ref("customer_id", "customers", "customer_id"),
            _ref("contact_id", "contacts", "contact_id", nullable=True),
            _timestamp("responded_at"),
            Column("score", "integer", min_value=0, max_value=10),
        ),
    ),
)

CONTRACT: dict[str, Table] = {table.name: table for table in _TABLES}
