"""Authorization-matrix entries for the uploaded files (佐证材料) of entries, declarations,
self-assessments, fulfilment reports and objections (merged into MATRIX).

A file opens for exactly those who open the record it belongs to: the member's card / the branch's
ledger for entries, declarations, self-assessment lines and fulfilment reports; the objection page's
readers for an objection's file."""

from .common import A1_ROSTER, COLLEGE_A, COMMITTEE, Check

# The objection page's readers (tests/matrix/reviews.py: objection_detail).
OBJECTION_READERS_A1 = {"member", "committee", "secretary", "org_department"}
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82"
)


def evidence_targets(world):
    """A file on an entry of A1 (another member's and the member's own), A2 and B1; on the member's and
    B1's declaration, fulfilment report and objection; and on a self-assessment line in A1 and B1."""
    from django.core.files.base import ContentFile

    from reviews.models import ObjectionAttachment, SelfAssessment, SelfClaim
    from scoring.models import EntryEvidence
    from scoring.selectors import scheme_for_member

    t = world.targets
    uploader = world.admin

    def on_entry(entry, name):
        evidence = EntryEvidence(entry=entry, name=name, uploaded_by=uploader)
        evidence.file.save(name, ContentFile(PNG), save=False)
        evidence.save()
        return evidence

    objects = {
        "own_entry_evidence": on_entry(t["own_entry"], "志愿服务证明.png"),
        "self_entry_evidence": on_entry(t["own_objection"].entry, "结对帮扶.png"),
        "other_branch_entry_evidence": on_entry(t["other_branch_entry"], "甲二证明.png"),
        "other_college_entry_evidence": on_entry(t["other_college_entry"], "乙一证明.png"),
    }
    for key in ("own", "far"):
        for kind in ("declaration", "fulfilment"):
            record = t[f"{key}_{kind}"]
            record.evidence.save(f"{kind}证明.png", ContentFile(PNG))
        attachment = ObjectionAttachment(objection=t[f"{key}_objection"], name="异议证明.png", uploaded_by=uploader)
        attachment.file.save("异议证明.png", ContentFile(PNG), save=False)
        attachment.save()
        objects[f"{key}_objection_file"] = attachment
    from scoring.models import Period

    # The second semester: tests/security/test_xss.py adds its own self-assessments in the first.
    period = Period.objects.get(cycle=t["period"].cycle, kind="semester", index=2)
    for key, member in (("own", world.a1_members[4]), ("far", world.b1_members[1])):
        assessment = SelfAssessment.objects.create(member=member, period=period)
        item = scheme_for_member(member=member, year=period.cycle.year).items.get(code="A-C02")
        claim = SelfClaim(assessment=assessment, item=item, points=200)
        claim.evidence.save("自评佐证.png", ContentFile(PNG), save=False)
        claim.save()
        objects[f"{key}_self_claim"] = claim
    return objects


def _file(pk_name):
    return lambda target, world: {pk_name: target.pk}


EVIDENCE_MATRIX = {
    "evidence_entry": [
        Check("GET", "own_entry_evidence", A1_ROSTER, kwargs=_file("evidence_id")),
        Check("GET", "self_entry_evidence", A1_ROSTER | {"member"}, kwargs=_file("evidence_id")),
        Check("GET", "other_branch_entry_evidence", COLLEGE_A, kwargs=_file("evidence_id")),
        Check("GET", "other_college_entry_evidence", COMMITTEE, kwargs=_file("evidence_id")),
    ],
    "evidence_declaration": [
        Check("GET", "own_declaration", A1_ROSTER | {"member"}),
        Check("GET", "far_declaration", COMMITTEE),
    ],
    "evidence_fulfilment": [
        Check("GET", "own_fulfilment", A1_ROSTER | {"member"}),
        Check("GET", "far_fulfilment", COMMITTEE),
    ],
    "evidence_objection": [
        Check("GET", "own_objection_file", OBJECTION_READERS_A1, kwargs=_file("attachment_id")),
        Check("GET", "far_objection_file", COMMITTEE, kwargs=_file("attachment_id")),
    ],
    "evidence_self_claim": [
        Check("GET", "own_self_claim", A1_ROSTER | {"member"}, kwargs=_file("claim_id")),
        Check("GET", "far_self_claim", COMMITTEE, kwargs=_file("claim_id")),
    ],
}
