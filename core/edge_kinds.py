"""Edge kinds are data: one registry, each kind with its category and meaning.

Names follow BloodHound where it has one (MemberOf, AllowedToDelegate,
AllowedToAct, ReadGMSAPassword, GenericAll ...). `orders` says how an edge
src -> dst orders the migration:

- ``src_after_dst``: src depends on dst, so src's cutover comes after dst is ready
  (or, when dst is retired, dst's decommission waits for src's cutover);
- ``dst_retire_after_src``: only when dst is retired, its decommission waits for src
  (a group's members move before the group goes);
- None: the edge informs analysis (consumers, blast radius) but does not order steps.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class EdgeKind:
    name: str
    category: str  # membership | delegation | credential | ownership | consumption | control | grant | provisioning | manual
    meaning: str  # one sentence: "src ... dst"
    orders: str | None
    colour: str  # for the graph view


CATEGORIES = (
    "membership",
    "delegation",
    "credential",
    "ownership",
    "consumption",
    "control",
    "grant",
    "provisioning",
    "manual",
)

_KINDS = [
    EdgeKind("MemberOf", "membership", "src is a member of group dst", "dst_retire_after_src", "#6c8ebf"),
    EdgeKind("AllowedToDelegate", "delegation",
             "src may impersonate users to a service that dst runs (constrained delegation)", "src_after_dst",
             "#d79b00"),
    EdgeKind("AllowedToAct", "delegation",
             "src may act on behalf of users to dst (resource-based constrained delegation)", "src_after_dst",
             "#d6b656"),
    EdgeKind("ReadGMSAPassword", "credential", "src may read the managed password of dst", "src_after_dst",
             "#b85450"),
    EdgeKind("SharesCredential", "credential", "src uses the same credential as dst", "src_after_dst", "#ae4132"),
    EdgeKind("FederatedCredential", "credential", "workload src signs in as dst with a federated credential",
             "src_after_dst", "#a20025"),
    EdgeKind("ManagedBy", "ownership", "src is managed (owned) by dst", None, "#82b366"),
    EdgeKind("Owns", "ownership", "src owns dst", None, "#60a917"),
    EdgeKind("UsesIdentity", "consumption", "workload or host src runs as or signs in as dst", None, "#9673a6"),
    EdgeKind("GenericAll", "control", "src has full control of dst", None, "#e51400"),
    EdgeKind("GenericWrite", "control", "src may write attributes of dst", None, "#fa6800"),
    EdgeKind("WriteDacl", "control", "src may change the permissions of dst", None, "#f0a30a"),
    EdgeKind("WriteOwner", "control", "src may take ownership of dst", None, "#e3c800"),
    EdgeKind("AppRoleAssignment", "grant", "src holds an application role of resource dst", None, "#1ba1e2"),
    EdgeKind("DelegatedGrant", "grant", "src holds delegated permissions (scopes) on resource dst", None,
             "#0050ef"),
    EdgeKind("ProvisionedAs", "provisioning", "directory identity src is provisioned as account dst",
             "dst_retire_after_src", "#6a00ff"),
    EdgeKind("ProvisionedIn", "provisioning", "account src exists in application dst", None, "#aa00ff"),
    EdgeKind("AuthenticatesWithSaml", "grant",
             "identity src signs in to application dst with SAML assertions (SSO, or the SAML 2.0 bearer grant)",
             None, "#008a00"),
    EdgeKind("ManualDependency", "manual", "the architect says src depends on dst", "src_after_dst", "#333333"),
]

EDGE_KINDS: dict[str, EdgeKind] = {k.name: k for k in _KINDS}


def edge_kind(name: str) -> EdgeKind:
    try:
        return EDGE_KINDS[name]
    except KeyError:
        raise KeyError(f"unknown edge kind {name!r}; known: {', '.join(sorted(EDGE_KINDS))}") from None
