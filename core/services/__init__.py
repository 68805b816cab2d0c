"""What a front end may call: projects, imports, inventory, decisions, plans, analysis, live sources.

The CLI and the GUI both go through this package and nothing else in core, so
that both behave the same. One module per concern; this module re-exports their
public names so that callers write `services.decide(...)`.
"""

from __future__ import annotations

from ..ingest import ImportSummary
from ..store import Store
from .analysis import (
    accept_agents,
    analyse_identity,
    apply_recommendations,
    decide_by_filter,
    dependency_cycles,
    get_policy,
    propose_agents,
    recommendations,
    set_policy,
    split_proposal,
    undo_changes,
)
from .common import CancelFn, ProgressFn
from .decisions import (
    DecisionChange,
    add_manual_dependency,
    audit_log,
    decide,
    decide_file,
    decide_keys,
    decide_many,
    decision_vocabulary,
    restore_decision,
    restore_decisions,
)
from .demo import DEMO_EXPORT_DATE, build_demo, copy_demo_files, demo_resources
from .imports import ImportPlanEntry, import_formats, import_paths, import_records, plan_import
from .inventory import (
    INVENTORY_COLUMNS,
    edge_kind_info,
    identity_detail,
    inventory_columns,
    list_identities,
    load_graph,
)
from .live import check_entra, check_ldap, check_scim, ldap_source, pull_entra, pull_ldap, pull_scim
from .plans import (
    PLAN_FORMATS,
    diff_plans,
    make_plan,
    plan_document_of,
    plan_formats,
    read_plan,
    render_plan_document,
    verify_plan,
    write_plan,
)
from .projects import init_project, open_project

__all__ = [
    "DEMO_EXPORT_DATE",
    "INVENTORY_COLUMNS",
    "PLAN_FORMATS",
    "CancelFn",
    "DecisionChange",
    "ImportPlanEntry",
    "ImportSummary",
    "ProgressFn",
    "Store",
    "accept_agents",
    "add_manual_dependency",
    "analyse_identity",
    "apply_recommendations",
    "audit_log",
    "build_demo",
    "check_entra",
    "check_ldap",
    "check_scim",
    "copy_demo_files",
    "decide",
    "decide_by_filter",
    "decide_file",
    "decide_keys",
    "decide_many",
    "decision_vocabulary",
    "demo_resources",
    "dependency_cycles",
    "diff_plans",
    "edge_kind_info",
    "get_policy",
    "identity_detail",
    "import_formats",
    "import_paths",
    "import_records",
    "init_project",
    "inventory_columns",
    "ldap_source",
    "list_identities",
    "load_graph",
    "make_plan",
    "open_project",
    "plan_document_of",
    "plan_formats",
    "plan_import",
    "propose_agents",
    "pull_entra",
    "pull_ldap",
    "pull_scim",
    "read_plan",
    "recommendations",
    "render_plan_document",
    "restore_decision",
    "restore_decisions",
    "set_policy",
    "split_proposal",
    "undo_changes",
    "verify_plan",
    "write_plan",
]
