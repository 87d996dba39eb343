"""Survey permissions, as predicates built from capabilities (core/roles.py) and the survey's state.

- officers (surveys.manage) build surveys, open and close them, review staff-entered responses, export answers
  and publish results;
- workers who act for residents (surveys.collect) enter responses door to door, by hotline or from paper while
  the survey is open, and see progress by building;
- a resident of a household in the survey's frame answers online while it is open;
- the figures of a survey are for staff in scope, and for everyone once its results are published; the data
  file behind them (households as opaque tokens) for the roles holding surveys.rates.
"""

from __future__ import annotations

import rules

from gongzhi.core.rules import holds
from gongzhi.surveys import selectors


@rules.predicate
def is_draft(user, survey) -> bool:
    return survey is not None and survey.status == "draft"


@rules.predicate
def is_open(user, survey) -> bool:
    return survey is not None and survey.status == "open"


@rules.predicate
def is_not_closed(user, survey) -> bool:
    return survey is not None and survey.status != "closed"


@rules.predicate
def results_published(user, survey) -> bool:
    return survey is not None and survey.results_published


@rules.predicate
def in_frame(user, survey) -> bool:
    """The signed-in person lives in or owns (now) a household of the survey's frame."""
    if survey is None or not getattr(user, "is_authenticated", False) or not getattr(user, "person_id", None):
        return False
    cache = user.__dict__.setdefault("_gz_survey_frame", {})
    if survey.pk not in cache:
        cache[survey.pk] = selectors.own_households(survey, user.person_id).exists()
    return cache[survey.pk]


staff = holds("staff")
manage = holds("surveys.manage")
collect = holds("surveys.collect")

rules.add_perm("surveys.view_survey", staff)
rules.add_perm("surveys.add_survey", manage)
rules.add_perm("surveys.change_survey", manage & is_not_closed)
rules.add_perm("surveys.change_quotas", manage & is_not_closed)
rules.add_perm("surveys.open_survey", manage & is_draft)
rules.add_perm("surveys.close_survey", manage & is_open)
rules.add_perm("surveys.publish_results", manage)
rules.add_perm("surveys.export_responses", manage)
rules.add_perm("surveys.review_response", manage)
rules.add_perm("surveys.collect_response", collect & is_open)
rules.add_perm("surveys.view_progress", collect | manage)
rules.add_perm("surveys.answer_survey", in_frame & is_open)
rules.add_perm("surveys.view_own_survey", in_frame)  # the resident pages; answering needs answer_survey
rules.add_perm("surveys.view_rates", staff | results_published)
rules.add_perm("surveys.view_results", staff | results_published)
rules.add_perm("surveys.download_rates_data", holds("surveys.rates"))
rules.add_perm("surveys.change_ratesettings", manage)
