"""E-mail digest subscriptions through the digests services: anyone can ask for one
(double opt-in by mail, as the site's subscribe box); a member reads, changes and ends
their own with a token or session."""

from __future__ import annotations

from typing import Literal
from zoneinfo import available_timezones

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.http import Http404, HttpRequest
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError
from pydantic import field_validator

from paperfeed.api.access import READ, WRITE
from paperfeed.api.schemas import errors
from paperfeed.digests import services

router = Router(tags=["Subscriptions"])

CATEGORY = r"^[A-Za-z-]{2,16}(\.[A-Za-z-]{1,16})?$"
ASKED = "If this address can be subscribed, a confirmation mail is on its way."


class Preferences(Schema):
    frequency: Literal["daily", "weekly"] | None = None
    weekday: int | None = Field(None, ge=0, le=6, description="0 is Monday (weekly digests)")
    hour: int | None = Field(None, ge=0, le=23, description="local hour of sending")
    timeZone: str | None = Field(None, max_length=64, description="e.g. Europe/Berlin")
    trendingCount: int | None = Field(None, ge=0, le=50)
    categories: list[str] | None = Field(None, max_length=20)

    @field_validator("timeZone")
    @classmethod
    def known_zone(cls, value: str | None) -> str | None:
        if value is not None and value not in available_timezones():
            raise ValueError(f"unknown time zone {value!r} (use a name like Europe/Berlin)")
        return value

    @field_validator("categories")
    @classmethod
    def category_names(cls, value: list[str] | None) -> list[str] | None:
        import re

        for name in value or []:
            if not re.match(CATEGORY, name):
                raise ValueError(f"{name!r} is not an arXiv category such as cs.LG")
        return value

    def as_fields(self) -> dict:
        names = {"timeZone": "time_zone", "trendingCount": "trending_count"}
        given = self.model_dump(exclude_none=True)
        return {names.get(key, key): value for key, value in given.items()}


class SubscribeIn(Preferences):
    email: str = Field(..., max_length=254)

    @field_validator("email")
    @classmethod
    def an_address(cls, value: str) -> str:
        try:
            validate_email(value.strip())
        except ValidationError:
            raise ValueError("not an e-mail address") from None
        return value.strip()


class AskedOut(Schema):
    status: str


class SubscriptionOut(Schema):
    email: str
    active: bool
    frequency: str
    weekday: int
    hour: int
    timeZone: str
    trendingCount: int
    categories: list[str]


def _shape(subscription) -> dict:
    return {
        "email": subscription.email,
        "active": subscription.is_active,
        "frequency": subscription.frequency,
        "weekday": subscription.weekday,
        "hour": subscription.hour,
        "timeZone": subscription.time_zone,
        "trendingCount": subscription.trending_count,
        "categories": subscription.categories,
    }


@router.post(
    "/subscriptions",
    response={202: AskedOut, **errors(413)},
    summary="Ask for a digest subscription (a confirmation mail is sent)",
    operation_id="subscribe",
)
def subscribe(request: HttpRequest, payload: SubscribeIn):
    """The same answer whatever happened, so nobody learns which addresses subscribe."""
    preferences = payload.as_fields()
    preferences.pop("email", None)
    services.subscribe(payload.email, preferences)
    return Status(202, {"status": ASKED})


@router.get(
    "/subscription",
    auth=READ,
    response={200: SubscriptionOut, **errors(401, 404)},
    summary="Your digest subscription",
    operation_id="my_subscription",
)
def my_subscription(request: HttpRequest):
    found = services.subscription_of(request.user)
    if found is None:
        raise Http404("You have no digest subscription.")
    return _shape(found)


@router.put(
    "/subscription",
    auth=WRITE,
    response={200: SubscriptionOut, **errors(401, 403, 413)},
    summary="Turn your digest on, or change it (no confirmation: your address is verified)",
    operation_id="set_subscription",
)
def set_subscription(request: HttpRequest, payload: Preferences):
    # Every field is optional, so Ninja would take any JSON body (even a list) as "no
    # change": insist on an object.
    if not request.body.lstrip().startswith(b"{"):
        raise HttpError(400, "The body must be a JSON object of preferences.")
    return _shape(services.subscribe_member(request.user, payload.as_fields()))


@router.delete(
    "/subscription",
    auth=WRITE,
    response={204: None, **errors(401, 403, 404)},
    summary="End your digest subscription",
    operation_id="end_subscription",
)
def end_subscription(request: HttpRequest):
    found = services.subscription_of(request.user)
    if found is None:
        raise Http404("You have no digest subscription.")
    services.unsubscribe(found)
    return Status(204, None)
