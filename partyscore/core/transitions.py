"""Moving a stateful row along its declared transitions: the one way a service changes a status.

A stateful model declares `TRANSITIONS = {action: (statuses it may leave, status it enters)}`.
`transition` re-reads the row's status under a row lock (SELECT … FOR NO KEY UPDATE on PostgreSQL;
SQLite lets one writer in at a time) inside the caller's transaction, so that of two concurrent moves,
or two moves made from one stale instance, the second sees the first's result and is refused.
"""

from django.db import router, transaction
from django.utils.translation import gettext as _

from .exceptions import ApplicationError


def transition(obj, action, refusal=None):
    """Set `obj.status` to where `action` leads from the row's current status, and return it; the caller
    saves. Refuses with ApplicationError (`refusal`, or one naming the current status) when the model's
    table does not allow `action` from there."""
    model = type(obj)
    allowed, target = model.TRANSITIONS[action]
    using = obj._state.db or router.db_for_write(model)
    if not transaction.get_connection(using).in_atomic_block:
        raise RuntimeError("transition() locks the row until the transaction ends: call it inside one")
    if obj._state.adding:  # not saved yet: no row to lock (its unique constraints guard the insert)
        current = obj.status
    else:
        current = (
            model._base_manager.using(using)
            .select_for_update(no_key=True)
            .filter(pk=obj.pk)
            .values_list("status", flat=True)
            .get()
        )
    if current not in allowed:
        label = dict(model._meta.get_field("status").flatchoices).get(current, current)
        raise ApplicationError(refusal or _("当前状态为“%(status)s”，不能执行此操作") % {"status": label})
    obj.status = target
    return target
