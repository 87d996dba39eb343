"""Core's background work: text messages (core.sms.deliver_sms). Imported by `jobs.reap` (autodiscovered with every
app's tasks module) so the handler for an SMS job whose worker died is registered."""

from gongzhi.core.sms import deliver_sms, retry_due

__all__ = ["deliver_sms", "retry_due"]
