from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from scoring.chain_verify import AUDIT, LEDGER, anchor_read, anchor_write, kind_labels, verify


class Command(BaseCommand):
    help = ("Recompute the ledger's and the audit log's hash chains and their cross-links; name the first "
            "broken link and exit non-zero if any.")

    def add_arguments(self, parser):
        parser.add_argument("--anchor", metavar="FILE",
                            help="compare with the chain heads recorded in FILE (kept off the database server), "
                                 "then, if intact, record the current heads there")

    def handle(self, *args, anchor=None, **options):
        report = verify(anchor=anchor_read(anchor) if anchor else None)
        names = {LEDGER: _("台账"), AUDIT: _("审计记录")}
        self.stdout.write(_("台账 %(ledger)s 条，审计记录 %(audit)s 条") % {
            "ledger": report.ledger_count, "audit": report.audit_count})
        for table, (pk, digest) in report.heads.items():
            self.stdout.write(_("%(name)s链头：编号 %(id)s，哈希 %(hash)s") % {
                "name": names[table], "id": pk if pk is not None else "-", "hash": digest or "-"})
        if report.intact:
            if anchor:
                anchor_write(anchor, report)
                self.stdout.write(_("已将链头记入锚点文件 %(file)s") % {"file": anchor})
            self.stdout.write(self.style.SUCCESS(_("完整：台账 %(ledger)s 条、审计记录 %(audit)s 条，哈希链无断裂") % {
                "ledger": report.ledger_count, "audit": report.audit_count}))
            return
        kinds = kind_labels()
        for found in report.breaks:
            self.stdout.write(self.style.ERROR(
                _("断裂：%(name)s（%(table)s）编号 %(id)s，%(kind)s。%(detail)s") % {
                    "name": names[found.table], "table": found.table, "id": found.row_id,
                    "kind": kinds[found.kind], "detail": found.detail}))
            self.stdout.write("  " + _("应为：%(expected)s") % {"expected": found.expected or "-"})
            self.stdout.write("  " + _("实为：%(stored)s") % {"stored": found.stored or "-"})
        raise CommandError(_("哈希链断裂：台账或审计记录可能被篡改，第一处见上"))
