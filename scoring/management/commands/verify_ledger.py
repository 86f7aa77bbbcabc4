from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from scoring.chain_verify import (
    AUDIT,
    LEDGER,
    anchor_chains,
    anchor_read,
    anchor_write,
    kind_labels,
    newest_anchor,
    table_names,
    verify,
)
from scoring.figures_verify import describe, verify_figures


class Command(BaseCommand):
    help = (
        "Recompute the ledger's and the audit log's hash chains (one per organization) and their cross-links, "
        "check every head the anchors recorded and the newest anchor against the one kept off the database "
        "(CHAIN_ANCHOR_FILE), and recompute the stored year totals, ranks and outcomes from the ledger; name "
        "what differs and exit non-zero if anything does. If the chains are intact, anchor their heads."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--anchor",
            metavar="FILE",
            help="the anchor file to compare with (default: the CHAIN_ANCHOR_FILE setting); "
            "if intact, the newest anchor is recorded there",
        )
        parser.add_argument(
            "--init-anchor",
            action="store_true",
            help="the anchor file does not exist yet (first check of a new deployment): "
            "check without it, then record it",
        )
        parser.add_argument(
            "--no-anchor",
            action="store_true",
            help="check the chains in the database only: a chain cut at its end or emptied goes unnoticed",
        )

    def handle(self, *args, anchor=None, init_anchor=False, no_anchor=False, **options):
        path = None if no_anchor else (anchor or settings.CHAIN_ANCHOR_FILE)
        if not no_anchor and not path:
            raise CommandError(
                _("未设置锚点文件：请设置 CHAIN_ANCHOR_FILE 或用 --anchor 指定；只核对数据库内的链请加 --no-anchor")
            )
        recorded = anchor_read(path) if path else None
        if path and recorded is None and not init_anchor:
            raise CommandError(
                _("锚点文件 %(file)s 不存在：链头被截断、整表被清空将无从发现。新部署首次核验请加 --init-anchor")
                % {"file": path}
            )
        report = verify(anchor=recorded)
        names = table_names()
        self.stdout.write(
            _("台账 %(ledger)s 条，审计记录 %(audit)s 条")
            % {"ledger": report.ledger_count, "audit": report.audit_count}
        )
        self.stdout.write(
            _("台账 %(ledger)s 条链，审计记录 %(audit)s 条链；锚点 %(anchors)s 个，最新：编号 %(id)s，哈希 %(hash)s")
            % {
                "ledger": len(report.heads[LEDGER]),
                "audit": len(report.heads[AUDIT]),
                "anchors": report.anchor_count,
                "id": report.anchor_head[0] if report.anchor_head[0] is not None else "-",
                "hash": report.anchor_head[1] or "-",
            }
        )
        if recorded is not None:
            self.stdout.write(
                _("锚点（%(file)s，记录于 %(at)s）的链头仍在、未被改写")
                % {"file": path, "at": recorded.get("recorded_at", "-")}
                if not report.anchor_breaks
                else _("锚点（%(file)s，记录于 %(at)s）与数据库不符，见下")
                % {"file": path, "at": recorded.get("recorded_at", "-")}
            )
        elif not path:
            self.stdout.write(self.style.WARNING(_("未核对锚点：链尾被截断或整表被清空不会被发现")))
        if report.intact:
            anchor_chains(report)
        if report.intact and path:
            try:
                newest = newest_anchor()
                anchor_write(path, newest)
                self.stdout.write(
                    _("已将最新锚点（编号 %(id)s）记入锚点文件 %(file)s") % {"id": newest[0], "file": path}
                )
            except OSError as error:
                self.stdout.write(
                    self.style.WARNING(
                        _("未能写入锚点文件 %(file)s：%(error)s") % {"file": path, "error": error.strerror or error}
                    )
                )
        diffs = verify_figures()
        if report.intact and not diffs:
            self.stdout.write(
                self.style.SUCCESS(
                    _(
                        "完整：台账 %(ledger)s 条、审计记录 %(audit)s 条，哈希链无断裂；"
                        "存储的年度积分、排名与结果均与台账一致"
                    )
                    % {"ledger": report.ledger_count, "audit": report.audit_count}
                )
            )
            return
        kinds = kind_labels()
        for found in report.breaks:
            self.stdout.write(
                self.style.ERROR(
                    _("断裂：%(name)s（%(table)s）编号 %(id)s，%(kind)s。%(detail)s")
                    % {
                        "name": names[found.table],
                        "table": found.table,
                        "id": found.row_id,
                        "kind": kinds[found.kind],
                        "detail": found.detail,
                    }
                )
            )
            self.stdout.write("  " + _("应为：%(expected)s") % {"expected": found.expected or "-"})
            self.stdout.write("  " + _("实为：%(stored)s") % {"stored": found.stored or "-"})
        for line in describe(diffs):
            self.stdout.write(self.style.ERROR(line))
        if not report.intact:
            raise CommandError(_("哈希链断裂：台账或审计记录可能被篡改，第一处见上"))
        raise CommandError(
            _("%(count)s 项存储的年度积分、排名或结果与按台账重算的不符，见上：可能被篡改") % {"count": len(diffs)}
        )
