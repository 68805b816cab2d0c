"""Directory artifacts: look-ups, disable, delete, SPN and delegation clean-up, hardening.

Active Directory accounts get PowerShell (ActiveDirectory module); Entra service
principals get Microsoft Graph requests. Every script names the account by its
sAMAccountName and the domain controller by the account's domain.
"""

from __future__ import annotations

from ..model import Artifact
from ..snapshot import IdentityFacts
from .common import http_request, powershell, ps_quote

ENTRA_KINDS = ("service_principal", "managed_identity", "agent")
MANAGED_AD_KINDS = ("gmsa", "smsa", "dmsa")
DELEGATION_FLAGS = ("TRUSTED_FOR_DELEGATION", "TRUSTED_TO_AUTH_FOR_DELEGATION")


def is_entra(f: IdentityFacts) -> bool:
    return f.kind in ENTRA_KINDS


def _get_cmdlet(f: IdentityFacts) -> str:
    return "Get-ADServiceAccount" if f.kind in MANAGED_AD_KINDS else "Get-ADUser"


def _who(f: IdentityFacts) -> str:
    return f"-Identity {ps_quote(f.name)} -Server {ps_quote(f.authority)}"


def _sp_filter(f: IdentityFacts) -> str:
    return "/v1.0/servicePrincipals?$filter=displayName eq '" + f.name.replace("'", "''") + "'"


def inventory_query(f: IdentityFacts) -> Artifact:
    if is_entra(f):
        return http_request("GET", _sp_filter(f) + "&$select=id,appId,displayName,accountEnabled,"
                            "servicePrincipalType,keyCredentials,passwordCredentials", None,
                            "Current state of the service principal", kind="graph-request")
    props = ("ServicePrincipalNames,msDS-AllowedToDelegateTo,TrustedForDelegation,TrustedToAuthForDelegation,"
             "LastLogonTimestamp,MemberOf")
    if f.kind in MANAGED_AD_KINDS:
        props += ",PrincipalsAllowedToRetrieveManagedPassword"
    else:
        props += ",PwdLastSet,ManagedBy"
    return powershell(f"{_get_cmdlet(f)} {_who(f)} -Properties {props}", "Current state of the account")


def logon_query(f: IdentityFacts) -> Artifact:
    """Recent authentications of the account, from the domain controllers' security logs.

    lastLogonTimestamp replicates with up to 14 days of lag, so the events are the truth.
    """
    if is_entra(f):
        return http_request(
            "GET", "/beta/auditLogs/signIns?$filter=signInEventTypes/any(t: t eq 'servicePrincipal') and "
            "servicePrincipalName eq '" + f.name.replace("'", "''") + "'&$top=50", None,
            "Recent sign-ins of the service principal", kind="graph-request")
    script = (
        f"# Successful logons and Kerberos tickets of {f.name} in the last 7 days, from every DC of {f.authority}\n"
        f"$dcs = Get-ADDomainController -Filter * -Server {ps_quote(f.authority)} | Select-Object -ExpandProperty HostName\n"
        "foreach ($dc in $dcs) {\n"
        "  Get-WinEvent -ComputerName $dc -FilterHashtable @{LogName='Security'; Id=4624,4768,4769; "
        "StartTime=(Get-Date).AddDays(-7)} -ErrorAction SilentlyContinue |\n"
        f"    Where-Object {{ $_.Properties[0].Value -eq {ps_quote(f.name)} -or $_.Properties[5].Value -eq "
        f"{ps_quote(f.name)} }} |\n"
        "    Select-Object TimeCreated, Id, MachineName\n"
        "}"
    )
    return powershell(script, "Recent authentications of the account")


def watch_query(f: IdentityFacts) -> Artifact:
    """Attempts to use the disabled account: whoever still tries is a consumer that was missed."""
    if is_entra(f):
        return http_request(
            "GET", "/beta/auditLogs/signIns?$filter=servicePrincipalName eq '" + f.name.replace("'", "''")
            + "' and status/errorCode eq 7000112&$top=50", None,
            "Sign-in attempts of the disabled service principal (AADSTS7000112)", kind="graph-request")
    script = (
        f"# Failed logons of the disabled account {f.name}: 4625 status 0xC0000072, Kerberos 4768 result 0x12\n"
        f"$dcs = Get-ADDomainController -Filter * -Server {ps_quote(f.authority)} | Select-Object -ExpandProperty HostName\n"
        "foreach ($dc in $dcs) {\n"
        "  Get-WinEvent -ComputerName $dc -FilterHashtable @{LogName='Security'; Id=4625,4768,4771; "
        "StartTime=(Get-Date).AddDays(-1)} -ErrorAction SilentlyContinue |\n"
        f"    Where-Object {{ $_.Message -match [regex]::Escape({ps_quote(f.name)}) }} |\n"
        "    Select-Object TimeCreated, Id, MachineName, @{n='Source';e={$_.Properties[19].Value}}\n"
        "}"
    )
    return powershell(script, "Attempts to use the disabled account (run daily during the watch)")


def disable(f: IdentityFacts) -> list[Artifact]:
    if is_entra(f):
        return [http_request("PATCH", "/v1.0/servicePrincipals/${OLD_SP_ID}", {"accountEnabled": False},
                             "Disable the service principal (OLD_SP_ID from the inventory query)",
                             kind="graph-request")]
    if f.kind in MANAGED_AD_KINDS:
        cmd = f"Set-ADServiceAccount {_who(f)} -Enabled $false"
    else:
        cmd = f"Disable-ADAccount {_who(f)}"
    return [powershell(cmd, "Disable the account")]


def enable_back(f: IdentityFacts) -> str:
    if is_entra(f):
        return f"PATCH /v1.0/servicePrincipals/${{OLD_SP_ID}} with accountEnabled true re-enables {f.name}."
    if f.kind in MANAGED_AD_KINDS:
        return f"Set-ADServiceAccount {_who(f)} -Enabled $true"
    return f"Enable-ADAccount {_who(f)}"


def remove(f: IdentityFacts) -> list[Artifact]:
    if is_entra(f):
        return [http_request("DELETE", "/v1.0/applications(appId='${OLD_APP_ID}')", None,
                             "Delete the app registration (soft delete: restorable for 30 days)",
                             kind="graph-request")]
    if f.kind in MANAGED_AD_KINDS:
        cmd = f"Remove-ADServiceAccount {_who(f)} -Confirm:$false"
    else:
        cmd = f"Remove-ADUser {_who(f)} -Confirm:$false"
    return [powershell(cmd, "Delete the account")]


def restore_text(f: IdentityFacts) -> str:
    if is_entra(f):
        return ("Restore the app registration from deleted items within 30 days: "
                "POST /v1.0/directory/deletedItems/${OLD_APP_OBJECT_ID}/restore.")
    return (f"Restore {f.name} from the AD Recycle Bin within the tombstone lifetime: "
            f"Get-ADObject -Filter \"sAMAccountName -eq '{f.name}'\" -IncludeDeletedObjects -Server "
            f"{ps_quote(f.authority)} | Restore-ADObject.")


def needs_unbind(f: IdentityFacts) -> bool:
    return not is_entra(f) and bool(f.spns or set(f.flags) & set(DELEGATION_FLAGS))


def unbind(f: IdentityFacts) -> list[Artifact]:
    """Take the SPNs and delegation rights off a disabled account: no Kerberoasting, no impersonation."""
    lines = [f"# {f.name}: record what is removed (the rollback puts it back)",
             f"{_get_cmdlet(f)} {_who(f)} -Properties ServicePrincipalNames,msDS-AllowedToDelegateTo,"
             f"TrustedForDelegation,TrustedToAuthForDelegation | Export-Clixml {ps_quote(_backup(f))}"]
    setter = "Set-ADServiceAccount" if f.kind in MANAGED_AD_KINDS else "Set-ADUser"
    if f.spns:
        spns = ",".join(ps_quote(s) for s in f.spns)
        lines.append(f"{setter} {_who(f)} -ServicePrincipalNames @{{Remove={spns}}}")
    lines.append(f"{setter} {_who(f)} -Clear 'msDS-AllowedToDelegateTo'")
    if "TRUSTED_FOR_DELEGATION" in f.flags:
        lines.append(f"Set-ADAccountControl {_who(f)} -TrustedForDelegation $false")
    if "TRUSTED_TO_AUTH_FOR_DELEGATION" in f.flags:
        lines.append(f"Set-ADAccountControl {_who(f)} -TrustedToAuthForDelegation $false")
    return [powershell("\n".join(lines), "Remove SPNs and delegation")]


def _backup(f: IdentityFacts) -> str:
    return f"{f.name.rstrip('$')}-before-unbind.xml"


def unbind_rollback(f: IdentityFacts) -> str:
    setter = "Set-ADServiceAccount" if f.kind in MANAGED_AD_KINDS else "Set-ADUser"
    spns = ",".join(ps_quote(s) for s in f.spns) or "@()"
    return (f"Put the recorded values back ({_backup(f)}): {setter} {_who(f)} -ServicePrincipalNames "
            f"@{{Add={spns}}} and the delegation settings as recorded.")


def hardening_text(f: IdentityFacts) -> str:
    parts = []
    if "TRUSTED_FOR_DELEGATION" in f.flags:
        parts.append("Replace unconstrained delegation with constrained delegation to the services it needs.")
    if "TRUSTED_TO_AUTH_FOR_DELEGATION" in f.flags:
        parts.append("Turn off protocol transition (any authentication protocol) unless a consumer needs it.")
    if "DONT_REQ_PREAUTH" in f.flags:
        parts.append("Require Kerberos pre-authentication.")
    if "PASSWD_NOTREQD" in f.flags:
        parts.append("Require a password.")
    if "DONT_EXPIRE_PASSWORD" in f.flags:
        parts.append("Let the rotation own the password; the never-expires flag stays only with rotation in place.")
    if "RC4_ONLY" in f.flags or "USE_DES_KEY_ONLY" in f.flags:
        parts.append("Allow AES Kerberos encryption types only.")
    return " ".join(parts) or "No risky account flags need clearing."


def hardening(f: IdentityFacts) -> list[Artifact]:
    if is_entra(f):
        return [http_request("GET", _sp_filter(f) + "&$select=id,keyCredentials,passwordCredentials", None,
                             "Credentials to review: remove every one the rotation does not manage",
                             kind="graph-request")]
    who = _who(f)
    lines = [f"{_get_cmdlet(f)} {who} -Properties userAccountControl,msDS-SupportedEncryptionTypes | "
             f"Export-Clixml {ps_quote(f.name.rstrip('$') + '-before-hardening.xml')}"]
    if "TRUSTED_FOR_DELEGATION" in f.flags:
        lines.append(f"Set-ADAccountControl {who} -TrustedForDelegation $false")
    if "TRUSTED_TO_AUTH_FOR_DELEGATION" in f.flags:
        lines.append(f"Set-ADAccountControl {who} -TrustedToAuthForDelegation $false")
    if "DONT_REQ_PREAUTH" in f.flags:
        lines.append(f"Set-ADAccountControl {who} -DoesNotRequirePreAuth $false")
    if "PASSWD_NOTREQD" in f.flags:
        lines.append(f"Set-ADAccountControl {who} -PasswordNotRequired $false")
    if "RC4_ONLY" in f.flags or "USE_DES_KEY_ONLY" in f.flags:
        lines.append(f"Set-ADUser {who} -KerberosEncryptionType AES128,AES256")
    if len(lines) == 1:
        lines.append(f"# {f.name}: no risky flags to clear")
    return [powershell("\n".join(lines), "Hardening (the export is the rollback record)")]
