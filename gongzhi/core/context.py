"""Per-request context (request id, channel) for the audit log, carried in context variables."""

from __future__ import annotations

import contextvars
import uuid

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("gongzhi_request_id", default="")
# How the request's actor got in, when the audit log must say it: the API token used ("api-token:…").
channel_var: contextvars.ContextVar[str] = contextvars.ContextVar("gongzhi_channel", default="")


def current_request_id() -> str:
    rid = request_id_var.get()
    if not rid:  # commands, workers: one id per unit of work
        rid = f"cli-{uuid.uuid4().hex[:16]}"
        request_id_var.set(rid)
    return rid
