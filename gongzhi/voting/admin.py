"""Read-only admin for votes: every change goes through voting.actions (the pages and the API), never here."""

from django.contrib import admin

from gongzhi.core.rules import scoped
from gongzhi.voting.models import Ballot, BallotLogEntry, Vote


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Vote)
class VoteAdmin(ReadOnly):
    list_display = ["id", "subject", "kind", "matter", "status", "total_heads", "ballot_count", "passed", "closes_at"]
    list_filter = ["status", "kind", "matter"]
    search_fields = ["subject", "matter_ref"]
    show_full_result_count = False

    def get_queryset(self, request):
        return scoped(super().get_queryset(request), request.user, "voting.supervise", field="path")


@admin.register(BallotLogEntry)
class BallotLogEntryAdmin(ReadOnly):
    list_display = ["vote", "seq", "recorded_at", "roll_token", "receipt_code"]
    show_full_result_count = False

    def get_queryset(self, request):
        return scoped(super().get_queryset(request), request.user, "voting.supervise", field="vote__path")


@admin.register(Ballot)
class BallotAdmin(ReadOnly):
    """Choices are personal information: listed without the choice column."""

    list_display = ["vote", "roll_entry", "channel", "cast_at", "actor"]
    exclude = ["choice", "salt"]
    show_full_result_count = False

    def get_queryset(self, request):
        return scoped(super().get_queryset(request), request.user, "voting.supervise", field="vote__path")
