"""The REST API (/api/v1/): thin views over the selectors and services the pages use.

Each view finds its objects and scope exactly as the matching page does (members.selectors.branch_get,
scoring.selectors.points_card, reviews.services.…), so there is no second permission logic here:
PermissionDenied answers 403, ApplicationError 400 with its Chinese message, an unknown id 404.
"""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from members import permissions as perms
from members import selectors as member_selectors
from members.models import Member, Organization
from partyscore.core.exceptions import ApplicationError
from partyscore.core.shortcuts import posted_object_or_404
from reviews import meetings
from reviews import selectors as review_selectors
from reviews import services as review_services
from reviews.models import Declaration, Determination, Meeting, Publicity
from scoring import selectors as scoring_selectors
from scoring import services as scoring_services
from scoring.models import LedgerEntry, Period, RuleItem

from . import serializers as s
from .pagination import Pagination


def exception_handler(exc, context):
    """DRF's answers, plus the application's refusal as 400 {"detail": "…"} in Chinese."""
    if isinstance(exc, ApplicationError):
        return Response({"detail": exc.message}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, ValidationError):
        # One sentence for the caller to show, and the fields' own messages beside it.
        return Response(
            {"detail": _("提交的数据有误，请检查后重试"), "errors": exc.detail}, status=status.HTTP_400_BAD_REQUEST
        )
    if isinstance(exc, Http404):
        # DRF 3.16+ passes Django's own message on ("No Period matches the given query."), in English
        # and naming a model: the caller gets the plain Chinese "not found" instead.
        exc = NotFound()
    return drf_exception_handler(exc, context)


REFUSALS = {400: s.ErrorSerializer, 401: s.ErrorSerializer, 403: s.ErrorSerializer, 404: s.ErrorSerializer}
YEAR = OpenApiParameter("year", int, description=gettext_lazy("计分年度；省略时为当前开启的年度"))


class YearQuery(serializers.Serializer):
    year = serializers.IntegerField(min_value=2000, max_value=2100, required=False)


def _year(request):
    query = YearQuery(data=request.query_params)
    query.is_valid(raise_exception=True)
    if "year" in query.validated_data:
        return query.validated_data["year"]
    cycle = scoring_selectors.current_cycle()
    return cycle.year if cycle else timezone.localdate().year


def _valid(serializer_class, request):
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _my_member(user):
    member = getattr(user, "member", None)
    if member is None:
        raise PermissionDenied(_("只有党员本人可以使用此功能"))
    return member


# Only the methods a view defines: no OPTIONS (as every page of the site). (A comment, not a docstring:
# the schema would show it as every operation's description.)
class ApiView(APIView):
    http_method_names = ["get", "head", "post"]


class MyCard(ApiView):
    http_method_names = ["get", "head"]

    @extend_schema(summary=gettext_lazy("本人积分卡"), parameters=[YEAR], responses={200: s.CardSerializer, **REFUSALS})
    def get(self, request):
        member = _my_member(request.user)
        year = _year(request)
        total, lines, outcomes = scoring_selectors.points_card(actor=request.user, member=member, year=year)
        card = {
            "year": year,
            "member": member,
            "total": total,
            "lines": lines,
            "outcomes": outcomes,
            "todos": review_selectors.member_due(member=member, year=year),
            "self_assessments": review_selectors.my_pipeline(member=member, year=year)["assessments"],
        }
        return Response(s.CardSerializer(card).data)


class BranchMembers(ApiView):
    http_method_names = ["get", "head"]
    pagination_class = Pagination  # also read by the schema: documented as a page of results

    @extend_schema(summary=gettext_lazy("支部名册"), responses={200: s.MemberSerializer(many=True), **REFUSALS})
    def get(self, request, org_id):
        organization = member_selectors.branch_get(actor=request.user, branch_id=org_id)
        members = member_selectors.member_list(actor=request.user, organization=organization)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(members, request, view=self)
        return paginator.get_paginated_response(s.MemberSerializer(page, many=True).data)


class BranchLedger(ApiView):
    pagination_class = Pagination

    @extend_schema(
        summary=gettext_lazy("支部积分台账"),
        parameters=[YEAR],
        responses={200: s.LineSerializer(many=True), **REFUSALS},
    )
    def get(self, request, org_id):
        organization = member_selectors.branch_get(actor=request.user, branch_id=org_id, perm=perms.LEDGER_VIEW)
        entries = scoring_selectors.ledger_entries(actor=request.user, organization=organization, year=_year(request))
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(scoring_selectors.ledger_lines(entries), request, view=self)
        return paginator.get_paginated_response(s.LineSerializer(page, many=True).data)

    @extend_schema(
        summary=gettext_lazy("记分（支部书记、记分员）"),
        request=s.EntryInSerializer,
        responses={201: s.LineSerializer, **REFUSALS},
    )
    def post(self, request, org_id):
        branch = member_selectors.branch_get(actor=request.user, branch_id=org_id, perm=perms.ENTRY_RECORD)
        if not branch.is_branch:
            raise PermissionDenied(_("只能在党支部记分"))
        data = _valid(s.EntryInSerializer, request)
        member = posted_object_or_404(Member, data["member"], branch=branch)
        entry = scoring_services.entry_record(
            actor=request.user,
            member=member,
            item=posted_object_or_404(RuleItem, data["item"]),
            period=posted_object_or_404(Period.objects.select_related("cycle"), data["period"]),
            points=data["points"],
            reason=data["reason"],
            occurred_on=data.get("occurred_on"),
        )
        entries = scoring_selectors.ledger_entries(actor=request.user, organization=branch, year=entry.year)
        entry = scoring_selectors.ledger_lines(entries.filter(pk=entry.pk)).get()
        return Response(s.LineSerializer(entry).data, status=status.HTTP_201_CREATED)


class BranchTotals(ApiView):
    http_method_names = ["get", "head"]

    @extend_schema(
        summary=gettext_lazy("支部积分榜（年度总分与排名）"),
        parameters=[YEAR],
        responses={200: s.BranchTotalsSerializer, **REFUSALS},
    )
    def get(self, request, org_id):
        branch = Organization.objects.filter(pk=org_id, kind=Organization.Kind.BRANCH).first()
        if branch is None:
            raise Http404
        year = _year(request)
        rows, _checks = scoring_selectors.branch_board(actor=request.user, branch=branch, year=year)
        # As on the board page: the outcomes only for those who see the ledger.
        show_outcomes = perms.has_org_perm(request.user, perms.LEDGER_VIEW, branch)
        for row in rows:
            row.shown_outcomes = row.member.year_outcomes if show_outcomes else []
        return Response(s.BranchTotalsSerializer({"year": year, "branch": branch.name, "totals": rows}).data)


class MySelfAssessment(ApiView):
    http_method_names = ["post"]

    @extend_schema(
        summary=gettext_lazy("保存或提交本人自查自评"),
        request=s.SelfAssessmentInSerializer,
        responses={200: s.AssessmentSerializer, **REFUSALS},
    )
    def post(self, request, period_id):
        member = _my_member(request.user)
        period = posted_object_or_404(Period.objects.select_related("cycle"), period_id)
        data = _valid(s.SelfAssessmentInSerializer, request)
        asked = [c["item"] for c in data["claims"]]
        if len(set(asked)) != len(asked):
            raise ValidationError({"claims": [_("每个项目只能填写一次")]})
        items = {item.pk: item for item in RuleItem.objects.filter(pk__in=asked)}
        if len(items) != len(asked):
            raise ValidationError({"claims": [_("项目不存在")]})
        claims = [(items[c["item"]], c["points"], c["note"], None) for c in data["claims"]]
        assessment = review_services.self_assessment_save(
            actor=request.user, member=member, period=period, claims=claims, note=data["note"], submit=data["submit"]
        )
        return Response(s.AssessmentSerializer(assessment).data)


OBJECTION_TARGETS = {
    "entry": (LedgerEntry, "member_id"),
    "declaration": (Declaration, "member_id"),
    "publicity": (Publicity, "branch_id"),
    "determination": (Determination, "branch_id"),
}


class Objections(ApiView):
    http_method_names = ["post"]

    @extend_schema(
        summary=gettext_lazy("提出异议"),
        request=s.ObjectionInSerializer,
        responses={201: s.ObjectionSerializer, **REFUSALS},
    )
    def post(self, request):
        data = _valid(s.ObjectionInSerializer, request)
        member = posted_object_or_404(Member.objects.select_related("branch"), data["member"])
        owners = {"member_id": member.pk, "branch_id": member.branch_id}
        # As the page: a target of anyone else's is not found.
        targets = {
            name: posted_object_or_404(model, data[name], **{owner: owners[owner]})
            for name, (model, owner) in OBJECTION_TARGETS.items()
            if name in data
        }
        objection = review_services.objection_raise(actor=request.user, member=member, reason=data["reason"], **targets)
        return Response(s.ObjectionSerializer(objection).data, status=status.HTTP_201_CREATED)


class MeetingSignIn(ApiView):
    http_method_names = ["post"]

    @extend_schema(
        summary=gettext_lazy("会议签到"), request=s.SignInSerializer, responses={200: s.SignedInSerializer, **REFUSALS}
    )
    def post(self, request, meeting_id):
        meeting = posted_object_or_404(Meeting.objects.select_related("branch"), meeting_id)
        data = _valid(s.SignInSerializer, request)
        attendee = meetings.meeting_sign_in(actor=request.user, meeting=meeting, token=data["token"])
        return Response(s.SignedInSerializer(attendee).data)
