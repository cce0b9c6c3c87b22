"""One builder of live new-commerce license subscriptions for the planning tests."""

from __future__ import annotations

from datetime import datetime, timedelta

from reconciler import model


def nce_license(
    sid: str, offer: str, seats: int, created: datetime, *, product_type: str | None = None
) -> model.LiveSubscription:
    """An active monthly one-year NCE subscription bought at ``created`` (window: 7 days)."""
    return model.LiveSubscription(
        id=sid,
        offer_id=offer,
        offer_name=offer,
        friendly_name="x",
        quantity=seats,
        status=model.SubscriptionStatus.ACTIVE,
        commerce=model.CommerceModel.NCE_LICENSE,
        billing_cycle="monthly",
        term_duration="P1Y",
        auto_renew=True,
        creation_date=created,
        commitment_end_date=created + timedelta(days=365),
        cancellation_allowed_until=created + timedelta(days=7),
        refundable=(),
        order_id=None,
        etag=None,
        product_type=product_type,
    )
