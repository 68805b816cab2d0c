"""Credential rotation for kept accounts: the configuration itself, per secret manager.

- vault: LDAP secrets engine static role with `rotation_period`, a read policy, and one
  AppRole per consumer (`secret_id_ttl` / `token_ttl`) so consumers fetch the password;
- doppler: the secret in a Doppler config, a service token per consumer that expires with
  the cadence, and the scheduled job that rotates the password and writes it back;
- 1password: a service account with read access to one vault, and the scheduled job that
  generates the new password there and sets it on the account;
- gmsa / dmsa: move the account to a group or delegated managed service account, whose
  password the domain rotates;
- manual: the cadence as a scheduled reminder with the commands to run.

Secrets never appear on a command line: they are read from stdin or generated in place.
"""

from __future__ import annotations

from ..model import Artifact
from ..snapshot import IdentityFacts
from .common import artifact, days, env_name, hours, powershell, ps_quote, sh_quote, shell

VIA_TEXT = {
    "vault": "HashiCorp Vault (LDAP secrets engine)",
    "doppler": "Doppler",
    "1password": "1Password",
    "gmsa": "a group managed service account",
    "dmsa": "a delegated managed service account",
    "manual": "a scheduled manual rotation",
}


def _role(f: IdentityFacts) -> str:
    return env_name(f.name).lower()


def _consumer_role(f: IdentityFacts, consumer: str) -> str:
    return f"{_role(f)}-{env_name(consumer.split('.')[0]).lower().replace('_', '-')}"


def _managed_name(f: IdentityFacts, suffix: str) -> str:
    # sAMAccountName of a managed service account: at most 15 characters before the '$'.
    base = f.name.rstrip("$").replace("_", "-")
    return (base[: 15 - len(suffix)] + suffix)[:15]


def rotation(f: IdentityFacts, policy: dict[str, str]) -> list[Artifact]:
    via, every = policy["via"], policy["every"]
    if via == "vault":
        return _vault(f, every)
    if via == "doppler":
        return _doppler(f, every)
    if via == "1password":
        return _onepassword(f, every)
    if via == "gmsa":
        return _gmsa(f, every)
    if via == "dmsa":
        return _dmsa(f, every)
    return _manual(f, every)


def _vault(f: IdentityFacts, every: str) -> list[Artifact]:
    role = _role(f)
    dn = f.dn or "${ACCOUNT_DN}"
    engine = (
        "# Once per Vault cluster: the LDAP secrets engine bound to the domain.\n"
        "# The bind account needs 'Reset password' on the OU of the managed accounts; its password is read\n"
        "# from stdin (bindpass=-), never typed on the command line.\n"
        "vault secrets enable ldap\n"
        f"vault write ldap/config schema=ad url={sh_quote('ldaps://' + f.authority)} "
        "binddn=\"${VAULT_BIND_DN}\" bindpass=- userdn=\"${MANAGED_ACCOUNTS_OU}\"\n"
        "\n"
        f"# {f.name}: Vault owns the password from now on and rotates it every {every}.\n"
        f"vault write ldap/static-role/{role} dn={sh_quote(dn)} username={sh_quote(f.name)} "
        f"rotation_period={hours(every)}\n"
        f"vault write -f ldap/rotate-role/{role}\n"
    )
    policy = (
        f"# Policy {role}-read: read the current password of {f.name}, nothing else.\n"
        f'path "ldap/static-cred/{role}" {{\n'
        '  capabilities = ["read"]\n'
        "}\n"
    )
    lines = [
        f"vault policy write {role}-read {role}-read.hcl",
        "vault auth enable approle",
        f"# One AppRole per consumer. Its secret_id lives as long as one rotation period ({every}); tokens",
        "# live 15 minutes, so a consumer re-reads the password at least that often.",
    ]
    consumers = f.consumer_names or ["consumer"]
    for c in consumers:
        name = _consumer_role(f, c)
        lines += [
            f"vault write auth/approle/role/{name} token_policies={role}-read secret_id_ttl={hours(every)} "
            "token_ttl=15m token_max_ttl=1h secret_id_num_uses=0"
            + (f" secret_id_bound_cidrs=\"${{{env_name(c)}_CIDR}}\"" if c != "consumer" else ""),
            f"vault read -field=role_id auth/approle/role/{name}/role-id",
            f"# Deliver the secret_id to {c} wrapped; it unwraps it once (vault unwrap).",
            f"vault write -f -wrap-ttl=10m auth/approle/role/{name}/secret-id",
        ]
    return [shell(engine, "Vault LDAP secrets engine and static role"),
            artifact("vault-policy", "text/x-hcl", policy, f"Vault policy {role}-read ({role}-read.hcl)"),
            shell("\n".join(lines), "AppRoles of the consumers")]


def _rotation_task(f: IdentityFacts, every: str, body: str, title: str) -> Artifact:
    task = f"Rotate {f.name}"
    script = (
        f"# Runs on the rotation host as a scheduled task, every {days(every)} day(s).\n"
        f"$action = New-ScheduledTaskAction -Execute 'pwsh.exe' -Argument "
        f"'-NoProfile -File C:\\nhiplan\\rotate-{_role(f)}.ps1'\n"
        f"$trigger = New-ScheduledTaskTrigger -Daily -DaysInterval {days(every)} -At 03:00\n"
        f"Register-ScheduledTask -TaskName {ps_quote(task)} -Action $action -Trigger $trigger "
        "-User ${ROTATION_GMSA} -RunLevel Limited\n"
        "\n"
        f"# C:\\nhiplan\\rotate-{_role(f)}.ps1\n"
        + body
    )
    return powershell(script, title)


def _doppler(f: IdentityFacts, every: str) -> list[Artifact]:
    key = f"{env_name(f.name)}_PASSWORD"
    setup = [
        f"# The password lives in one Doppler config as {key}; the first run of the rotation job",
        "# (below) writes it. Each consumer reads it with its own service token, which expires with the cadence.",
    ]
    for c in f.consumer_names or ["consumer"]:
        setup.append(
            f"doppler configs tokens create {sh_quote(_consumer_role(f, c))} --project \"${{DOPPLER_PROJECT}}\" "
            f"--config \"${{DOPPLER_CONFIG}}\" --max-age {hours(every)} --plain")
    body = (
        "# Generate, set on the account, then publish: a failed AD write leaves Doppler unchanged.\n"
        "Add-Type -AssemblyName System.Web\n"
        "$new = [System.Web.Security.Membership]::GeneratePassword(32, 6)\n"
        f"Set-ADAccountPassword -Identity {ps_quote(f.name)} -Server {ps_quote(f.authority)} -Reset "
        "-NewPassword (ConvertTo-SecureString $new -AsPlainText -Force)\n"
        f"$new | doppler secrets set {key} --project $env:DOPPLER_PROJECT --config $env:DOPPLER_CONFIG "
        "--no-interactive --silent\n"
        "Remove-Variable new\n"
    )
    return [shell("\n".join(setup), "Doppler secret and consumer service tokens"),
            _rotation_task(f, every, body, "Scheduled rotation writing to Doppler")]


def _onepassword(f: IdentityFacts, every: str) -> list[Artifact]:
    item = f.name
    setup = "\n".join([
        "# A vault for this account's secret, and a 1Password service account that may only read it.",
        f"op vault create {sh_quote('svc-' + _role(f))}",
        f"op item create --category login --title {sh_quote(item)} --vault {sh_quote('svc-' + _role(f))} "
        f"username={sh_quote(f.name)} --generate-password='letters,digits,symbols,32'",
        f"op service-account create {sh_quote(_role(f) + '-reader')} "
        f"--vault {sh_quote('svc-' + _role(f))}:read_items --expires-in {hours(every)}",
        "# The service-account token is shown once: hand it to the consumers' secret store, not a file.",
    ])
    body = (
        f"# Generate the new password in 1Password, then set it on the account.\n"
        f"op item edit {ps_quote(item)} --vault {ps_quote('svc-' + _role(f))} "
        "--generate-password='letters,digits,symbols,32' | Out-Null\n"
        f"$new = op read {ps_quote('op://svc-' + _role(f) + '/' + item + '/password')}\n"
        f"Set-ADAccountPassword -Identity {ps_quote(f.name)} -Server {ps_quote(f.authority)} -Reset "
        "-NewPassword (ConvertTo-SecureString $new -AsPlainText -Force)\n"
        "Remove-Variable new\n"
    )
    return [shell(setup, "1Password vault, item and read-only service account"),
            _rotation_task(f, every, body, "Scheduled rotation through 1Password")]


def _hosts_group(f: IdentityFacts) -> str:
    return f"{_managed_name(f, '-hosts')}"


def _gmsa(f: IdentityFacts, every: str) -> list[Artifact]:
    name = _managed_name(f, "-g")
    hosts = [h.split(".")[0] for h in f.consumer_names] or ["${CONSUMER_HOST}"]
    script = "\n".join([
        "# Prerequisite, once per forest: a KDS root key (Get-KdsRootKey lists it).",
        f"New-ADGroup -Name {ps_quote(_hosts_group(f))} -GroupScope Global -Server {ps_quote(f.authority)}",
        *(f"Add-ADGroupMember -Identity {ps_quote(_hosts_group(f))} -Members (Get-ADComputer {ps_quote(h)} "
          f"-Server {ps_quote(f.authority)})" for h in hosts),
        f"# The domain rotates the password every {days(every)} days; the interval is fixed at creation.",
        f"New-ADServiceAccount -Name {ps_quote(name)} -DNSHostName {ps_quote(name + '.' + f.authority)} "
        f"-ManagedPasswordIntervalInDays {days(every)} -PrincipalsAllowedToRetrieveManagedPassword "
        f"{ps_quote(_hosts_group(f))} -KerberosEncryptionType AES128,AES256 -Server {ps_quote(f.authority)}",
        *(f"Set-ADServiceAccount {ps_quote(name)} -ServicePrincipalNames @{{Add={ps_quote(s)}}} "
          f"-Server {ps_quote(f.authority)}" for s in f.spns),
        "# On each consumer host (after its reboot or klist purge for the group membership):",
        f"Install-ADServiceAccount -Identity {ps_quote(name)}; Test-ADServiceAccount -Identity {ps_quote(name)}",
    ])
    return [powershell(script, f"Group managed service account {name}$")]


def _dmsa(f: IdentityFacts, every: str) -> list[Artifact]:
    name = _managed_name(f, "-d")
    dn = f.dn or "${ACCOUNT_DN}"
    script = "\n".join([
        "# Needs a Windows Server 2025 domain controller. The dMSA supersedes the account: its",
        "# consumers keep working during the migration and the old account is disabled at completion.",
        f"New-ADServiceAccount -Name {ps_quote(name)} -DNSHostName {ps_quote(name + '.' + f.authority)} "
        f"-CreateDelegatedServiceAccount -ManagedPasswordIntervalInDays {days(every)} "
        f"-KerberosEncryptionType AES256 -Server {ps_quote(f.authority)}",
        f"Start-ADServiceAccountMigration -Identity {ps_quote(name)} -SupersededAccount {ps_quote(dn)} "
        f"-Server {ps_quote(f.authority)}",
    ])
    return [powershell(script, f"Delegated managed service account {name}$ (migration started)")]


def dmsa_complete(f: IdentityFacts) -> Artifact:
    name = _managed_name(f, "-d")
    dn = f.dn or "${ACCOUNT_DN}"
    return powershell(
        f"Complete-ADServiceAccountMigration -Identity {ps_quote(name)} -SupersededAccount {ps_quote(dn)} "
        f"-Server {ps_quote(f.authority)}",
        "Complete the dMSA migration (disables the superseded account)")


def managed_account_name(f: IdentityFacts, via: str) -> str:
    return _managed_name(f, "-g" if via == "gmsa" else "-d") + "$"


def _manual(f: IdentityFacts, every: str) -> list[Artifact]:
    body = (
        f"# Reminder only: a person rotates {f.name} and updates every consumer.\n"
        f"Send-MailMessage -To ${{OWNER_EMAIL}} -From ${{ROTATION_SENDER}} -SmtpServer ${{SMTP_SERVER}} "
        f"-Subject {ps_quote('Rotate ' + f.name)} -Body {ps_quote('Set a new password with Set-ADAccountPassword -Reset and update: ' + ', '.join(f.consumer_names or ['its consumers']))}\n"
    )
    return [_rotation_task(f, every, body, "Rotation reminder")]


def consumer_config(f: IdentityFacts, policy: dict[str, str]) -> list[Artifact]:
    """How each consumer gets the rotated credential at start-up."""
    via = policy["via"]
    if via in ("gmsa", "dmsa"):
        account = managed_account_name(f, via)
        domain = f.authority.split(".")[0].upper()
        lines = [f"# On each consumer host: run the service as {account} (no password to store)."]
        lines.append(f"sc.exe config ${{SERVICE_NAME}} obj= {domain}\\{account} password= \"\"")
        lines.append("Restart-Service ${SERVICE_NAME}")
        return [powershell("\n".join(lines), "Run the services as the managed service account")]
    if via == "vault":
        role = _role(f)
        return [shell(
            "# At start-up the consumer logs in with its AppRole and reads the current password.\n"
            "VAULT_TOKEN=$(vault write -field=token auth/approle/login role_id=\"$ROLE_ID\" "
            "secret_id=\"$SECRET_ID\")\n"
            f"VAULT_TOKEN=$VAULT_TOKEN vault read -field=password ldap/static-cred/{role}\n",
            "Consumer start-up: fetch the password from Vault")]
    if via == "doppler":
        return [shell(f"# The service runs under doppler run with its own service token.\n"
                      f"DOPPLER_TOKEN=\"$CONSUMER_SERVICE_TOKEN\" doppler run -- ${{SERVICE_COMMAND}}\n"
                      f"# The service reads {env_name(f.name)}_PASSWORD from its environment.\n",
                      "Consumer start-up: password from Doppler")]
    if via == "1password":
        return [shell("# The service runs under op run with the read-only service-account token.\n"
                      "export OP_SERVICE_ACCOUNT_TOKEN=\"$CONSUMER_OP_TOKEN\"\n"
                      f"{env_name(f.name)}_PASSWORD='op://svc-{_role(f)}/{f.name}/password' "
                      "op run -- ${SERVICE_COMMAND}\n",
                      "Consumer start-up: password from 1Password")]
    return []
