"""Request bodies: PagerDuty Events API v2, Alertmanager webhook v4, heartbeat pings.

The models give FastAPI its validation and the OpenAPI description. PagerDuty
events refuse unknown keys (a typo is reported, not ignored); Alertmanager
payloads accept unknown keys, because Alertmanager adds fields over releases
and a receiver must keep working across them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import to_json

PdSeverity = Literal["critical", "error", "warning", "info"]
PD_SEVERITY = {"critical": "sev1", "error": "sev2", "warning": "sev3", "info": "sev4"}


class PdPayload(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    summary: str = Field(min_length=1, max_length=1024, description="Becomes the incident title.")
    source: str = Field(min_length=1, max_length=255)
    severity: PdSeverity = Field(description="critical=sev1, error=sev2, warning=sev3, info=sev4")
    timestamp: datetime | None = None
    component: str | None = Field(default=None, max_length=255)
    group: str | None = Field(default=None, max_length=255)
    class_: str | None = Field(default=None, alias="class", max_length=255)
    custom_details: dict[str, Any] | str | None = None


class PdLink(BaseModel):
    model_config = ConfigDict(extra="forbid")

    href: str = Field(min_length=1, max_length=2048)
    text: str | None = Field(default=None, max_length=1024)


class PdImage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    src: str = Field(min_length=1, max_length=2048)
    href: str | None = Field(default=None, max_length=2048)
    alt: str | None = Field(default=None, max_length=1024)


class PdEvent(BaseModel):
    """A PagerDuty Events API v2 event."""

    model_config = ConfigDict(extra="forbid")

    routing_key: str = Field(min_length=1, max_length=200,
                             description="An integration key from the policies; it names the service.")
    event_action: Literal["trigger", "acknowledge", "resolve"]
    dedup_key: str | None = Field(default=None, min_length=1, max_length=255)
    payload: PdPayload | None = None
    links: list[PdLink] = Field(default_factory=list, max_length=50)
    images: list[PdImage] = Field(default_factory=list, max_length=50)
    client: str | None = Field(default=None, max_length=255)
    client_url: str | None = Field(default=None, max_length=2048)

    @model_validator(mode="after")
    def _needs(self) -> PdEvent:
        if self.event_action == "trigger" and self.payload is None:
            raise ValueError("payload is required when event_action is trigger")
        if self.event_action != "trigger" and not self.dedup_key:
            raise ValueError(f"dedup_key is required when event_action is {self.event_action}")
        return self


class PdAccepted(BaseModel):
    status: Literal["success"] = "success"
    message: str = "Event processed"
    dedup_key: str


# PdAccepted's JSON up to its last field's value, taken from the model itself.
_PD_ACCEPTED_HEAD = to_json(PdAccepted(dedup_key=""))[:-len(b'""}')]


def pd_accepted_json(dedup_key: str) -> bytes:
    """`to_json(PdAccepted(dedup_key=...))`, byte for byte, without building the model:
    the answer to every accepted event, where the model and its serialisation cost
    eight times the key's own encoding (tests/ingest/test_models.py pins the equality)."""
    return _PD_ACCEPTED_HEAD + to_json(dedup_key) + b"}"


class AmAlert(BaseModel):
    model_config = ConfigDict(extra="ignore")

    status: Literal["firing", "resolved"]
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    # Alertmanager spells its keys in camelCase; the model keeps its names.
    startsAt: str | None = None
    endsAt: str | None = None
    generatorURL: str | None = None
    fingerprint: str | None = Field(default=None, max_length=200)


class AmWebhook(BaseModel):
    """Alertmanager's webhook payload, version 4."""

    model_config = ConfigDict(extra="ignore")

    version: Literal["4"]
    status: Literal["firing", "resolved"]
    receiver: str = ""
    groupKey: str = ""
    truncatedAlerts: int = 0
    groupLabels: dict[str, str] = Field(default_factory=dict)
    commonLabels: dict[str, str] = Field(default_factory=dict)
    commonAnnotations: dict[str, str] = Field(default_factory=dict)
    externalURL: str = ""
    alerts: list[AmAlert] = Field(max_length=1000)


class AmAccepted(BaseModel):
    status: Literal["success"] = "success"
    triggered: list[str] = Field(description="Keys of incidents opened or re-triggered.")
    resolved: list[str]


class HeartbeatPing(BaseModel):
    model_config = ConfigDict(extra="forbid")

    routing_key: str = Field(min_length=1, max_length=200)
    interval: str | None = Field(default=None, max_length=32,
                                 description="How often pings come, e.g. '5m'. Required on the first ping.")
    severity: Literal["sev1", "sev2", "sev3", "sev4"] = "sev2"


class HeartbeatAccepted(BaseModel):
    status: Literal["success"] = "success"
    name: str
    interval_s: int
    expires_at: datetime
    resolved: str | None = Field(default=None, description="Key of the missed-heartbeat incident closed.")


class Problem(BaseModel):
    status: str
    message: str
    errors: list[str] = Field(default_factory=list)
