"""Who may see what: the policy, local accounts and the audit trail."""

from __future__ import annotations

from graph.access.audit import AuditLog
from graph.access.policy import Principal, Restricted, allowed, child_access, load_policy

__all__ = ["AuditLog", "Principal", "Restricted", "allowed", "child_access", "load_policy"]
