"""The price list: four tiers billed monthly or annually, a free trial, the core product and its add-ons.

Index conventions used by the simulation: tiers are numbered 1..4; a paid plan's index is
``(tier - 1) * 2 + annual``; ``TRIAL_PLAN`` comes last. Product 0 is ``core``; add-on ``a`` (1..5)
answers the need signalled by usage feature ``a`` (see ``FEATURES``).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

TIERS = ("starter", "team", "business", "enterprise")
MONTHLY_PRICE = np.array([29.0, 99.0, 299.0, 999.0])
ANNUAL_PRICE = MONTHLY_PRICE * 10  # two months free
SEAT_QUOTA = np.array([3, 10, 50, 500])
STORAGE_QUOTA_GB = np.array([10, 100, 1_000, 10_000])
TRIAL_TIER = 2  # the trial shows Team features and quotas
TRIAL_DAYS = 14

PLAN_IDS = (*(f"{tier}_{period}" for tier in TIERS for period in ("monthly", "annual")), "trial")
TRIAL_PLAN = len(PLAN_IDS) - 1
PLAN_PRICE = np.array(
    [*(price for pair in zip(MONTHLY_PRICE, ANNUAL_PRICE, strict=True) for price in pair), 0.0]
)
PLAN_MRR = np.array(
    [*(price for pair in zip(MONTHLY_PRICE, ANNUAL_PRICE / 12, strict=True) for price in pair), 0.0]
)

# Usage features whose heavy use signals an add-on need; index 0 (projects) is the core's own feature.
FEATURES = ("projects", "reports", "automation", "integrations", "api", "sso")
ONBOARDING_FEATURE = "onboarding_checklist"

PRODUCT_IDS = (
    "core",
    "analytics_addon",
    "automation_addon",
    "integrations_addon",
    "api_addon",
    "security_addon",
)
ADDONS = len(PRODUCT_IDS) - 1
ADDON_PRICE = np.array([49.0, 39.0, 29.0, 59.0, 99.0])
# Lowest tier that may buy each add-on (single sign-on and audit logs start at Team).
ADDON_MIN_TIER = np.array([1, 1, 1, 1, 2])
_PRODUCT_NAMES = (
    "Core workspace",
    "Advanced Analytics",
    "Workflow Automation",
    "Integrations Pack",
    "API Plus",
    "Security & SSO",
)
_COMPLEMENTS = (None, "automation_addon", "analytics_addon", "api_addon", "integrations_addon", None)
_NEED_REASONS = (
    None,
    "your team builds a lot of reports",
    "your team automates a lot of repetitive work",
    "you connect many tools to your workspace",
    "you call our API heavily",
    "your team signs in with single sign-on",
)


def plan_index(tier: np.ndarray, annual: np.ndarray) -> np.ndarray:
    return (np.asarray(tier, dtype=np.int64) - 1) * 2 + np.asarray(annual, dtype=np.int64)


def plans_columns() -> dict[str, pa.Array]:
    tiers = [*(tier for tier in TIERS for _ in range(2)), TIERS[TRIAL_TIER - 1]]
    periods = [*(period for _ in TIERS for period in ("monthly", "annual")), "monthly"]
    names = [f"{tier.title()} ({period})" for tier, period in zip(tiers[:-1], periods[:-1], strict=True)]
    ranks = [TIERS.index(tier) + 1 for tier in tiers]
    return {
        "plan_id": pa.array(PLAN_IDS),
        "plan_name": pa.array([*names, "Free trial (Team features)"]),
        "tier": pa.array(tiers),
        "tier_rank": pa.array(ranks, pa.int32()),
        "billing_period": pa.array(periods),
        "list_price": pa.array(PLAN_PRICE),
        "seat_quota": pa.array([SEAT_QUOTA[rank - 1] for rank in ranks], pa.int32()),
        "storage_quota_gb": pa.array([STORAGE_QUOTA_GB[rank - 1] for rank in ranks], pa.int32()),
    }


def products_columns() -> dict[str, pa.Array]:
    return {
        "product_id": pa.array(PRODUCT_IDS),
        "product_name": pa.array(_PRODUCT_NAMES),
        "product_kind": pa.array(["core", *["addon"] * ADDONS]),
        "complements_product_id": pa.array(_COMPLEMENTS, pa.string()),
        "monthly_price": pa.array([0.0, *ADDON_PRICE]),
        "need_signal_feature": pa.array([None, *FEATURES[1:]], pa.string()),
        "need_reason": pa.array(_NEED_REASONS, pa.string()),
    }
