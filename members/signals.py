"""Signals other apps listen to without members importing them (layers import one way)."""

from django.dispatch import Signal

# Sent by services.role_assign once an appointment is saved: sender=RoleAssignment, assignment=…, actor=….
role_assigned = Signal()
