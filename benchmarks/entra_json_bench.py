"""How long an `entra-json` import of a large tenant export takes, as a ratio to parsing its JSON.

    .venv/bin/python benchmarks/entra_json_bench.py [SERVICE_PRINCIPALS]   # default 20000

Writes a Graph export folder (organization, service principals with expanded
owners and credentials, app registrations for half of them with federated
credentials, delegated grants, app role assignments, sign-in activity, users)
and measures, in the same run:

- baseline: `json.loads` of every file (what reading the export costs at least);
- read + join + normalise: the importer's records, no database;
- full import: `services.import_paths` into a fresh project (ingest included).
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
import time
from pathlib import Path

from nhiplan.core import services
from nhiplan.core.importers.base import ImportContext
from nhiplan.core.importers.entra_json import EntraJsonImporter

TENANT = "0f0f0f0f-0000-4000-8000-000000000001"
CTX = "https://graph.microsoft.com/v1.0/$metadata#"


def guid(prefix: int, i: int) -> str:
    return f"{prefix:08x}-0000-4000-8000-{i:012x}"


def write_export(folder: Path, n: int, seed: int = 5) -> None:
    rng = random.Random(seed)
    users = [{"id": guid(0xA, u), "displayName": f"User {u}", "userPrincipalName": f"user{u}@bench.example",
              "onPremisesSecurityIdentifier": f"S-1-5-21-1-2-3-{1000 + u}"} for u in range(max(50, n // 20))]
    sps, apps, grants, aras, sign_ins, fics = [], [], [], [], [], {}
    graph = {"id": guid(0x9, 0), "appId": "00000003-0000-0000-c000-000000000000", "displayName": "Microsoft Graph",
             "servicePrincipalType": "Application", "appOwnerOrganizationId": "f8cdef31-a31e-4b4a-93e4-5f571e91255a",
             "appRoles": [{"id": guid(0xB, r), "value": f"Role{r}.Read.All"} for r in range(200)]}
    sps.append(graph)
    for i in range(n):
        app_id, sp_id, obj_id = guid(0x1, i), guid(0x2, i), guid(0x3, i)
        mi = i % 10 == 0
        sps.append({
            "id": sp_id, "appId": app_id, "displayName": f"app-{i % 997}", "accountEnabled": i % 17 != 0,
            "servicePrincipalType": "ManagedIdentity" if mi else "Application",
            "appOwnerOrganizationId": None if mi else TENANT,
            "alternativeNames": ["isExplicit=False", f"/subscriptions/s/resourcegroups/rg/providers/"
                                 f"Microsoft.Compute/virtualMachines/vm{i}"] if mi else [],
            "keyCredentials": [{"keyId": guid(0x4, i), "type": "AsymmetricX509Cert", "usage": "Verify",
                                "endDateTime": "2026-01-01T00:00:00Z", "startDateTime": "2025-01-01T00:00:00Z",
                                "customKeyIdentifier": "AB" * 20, "key": None}],
            "passwordCredentials": [],
            "owners": [{"@odata.type": "#microsoft.graph.user", **rng.choice(users)}] if not mi else []})
        if not mi and i % 2 == 0:
            apps.append({"id": obj_id, "appId": app_id, "displayName": f"app-{i % 997}",
                         "signInAudience": "AzureADMyOrg", "createdDateTime": "2020-01-01T00:00:00Z",
                         "passwordCredentials": [{"keyId": guid(0x5, i), "displayName": "s",
                                                  "endDateTime": "2026-06-01T00:00:00.1234567Z",
                                                  "startDateTime": "2024-06-01T00:00:00Z", "hint": "abc"}],
                         "keyCredentials": []})
            if i % 8 == 0:
                fics[obj_id] = [{"id": guid(0x6, i), "name": "gh", "issuer": "https://token.actions.githubusercontent.com",
                                 "subject": f"repo:org/r{i}:ref:refs/heads/main",
                                 "audiences": ["api://AzureADTokenExchange"]}]
        for r in rng.sample(range(200), 3):
            aras.append({"id": f"ara{i}-{r}", "appRoleId": guid(0xB, r), "principalId": sp_id,
                         "principalType": "ServicePrincipal", "resourceId": graph["id"]})
        if i % 3 == 0:
            grants.append({"id": f"g{i}", "clientId": sp_id, "resourceId": graph["id"], "consentType": "AllPrincipals",
                           "principalId": None, "scope": " openid  User.Read Mail.Read "})
        if i % 2 == 1:
            sign_ins.append({"id": "x", "appId": app_id,
                             "lastSignInActivity": {"lastSignInDateTime": "2024-05-02T00:00:00-8:00"}})

    def page(name: str, items: list, context: str) -> None:
        for start in range(0, max(len(items), 1), 999):  # Graph's largest page
            part = items[start:start + 999]
            body = {"@odata.context": CTX + context, "value": part}
            if start + 999 < len(items):
                body["@odata.nextLink"] = f"https://graph.microsoft.com/v1.0/{context}?$skiptoken={start}"
            (folder / f"{name}-{start // 999:04d}.json").write_text(json.dumps(body))

    page("organization", [{"id": TENANT, "displayName": "Bench"}], "organization")
    page("servicePrincipals", sps, "servicePrincipals")
    page("applications", apps, "applications")
    page("oauth2PermissionGrants", grants, "oauth2PermissionGrants")
    page("appRoleAssignments", aras, "appRoleAssignments")
    page("servicePrincipalSignInActivities", sign_ins, "reports/servicePrincipalSignInActivities")
    page("users", users, "users")
    fic_dir = folder / "federatedIdentityCredentials"
    fic_dir.mkdir()
    for obj_id, items in fics.items():
        (fic_dir / f"{obj_id}.json").write_text(json.dumps(
            {"@odata.context": CTX + f"applications('{obj_id}')/federatedIdentityCredentials", "value": items}))


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "export"
        folder.mkdir()
        write_export(folder, n)
        files = sorted(p for p in folder.rglob("*.json"))
        size = sum(p.stat().st_size for p in files)

        t = time.perf_counter()
        for p in files:
            json.loads(p.read_bytes())
        baseline = time.perf_counter() - t

        importer = EntraJsonImporter()
        ctx = ImportContext()
        t = time.perf_counter()
        for p in files:
            list(importer.read(p, ctx))
        records = [r for batch in importer.finish(ctx) for r in batch]
        normalise = time.perf_counter() - t

        store = services.init_project(Path(tmp) / "bench.nhiplan")
        t = time.perf_counter()
        [summary] = services.import_paths(store, [folder])
        full = time.perf_counter() - t
        store.close()

    print(f"entra-json export: {n} service principals, {len(files)} files, {size / 1e6:.1f} MB")
    print(f"  json.loads of every file (baseline) {baseline:7.2f} s")
    print(f"  read + join + normalise             {normalise:7.2f} s  ratio {normalise / baseline:5.1f}  "
          f"({len(records)} records)")
    print(f"  full import into a project          {full:7.2f} s  ratio {full / baseline:5.1f}  "
          f"({summary.identities} identities, {summary.edges} edges, {summary.credentials} credentials)")


if __name__ == "__main__":
    main()
