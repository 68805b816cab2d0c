"""The `nhiplan` command line: CONTRACT.md's commands on top of core.services.

Exit status: 0 success; 1 the work ran and found a problem (verify on a
tampered plan); 2 bad usage or bad input, with one line on stderr naming the
file, line or record and the reason. A user's mistake never shows a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence

from . import services
from .console import print_summary, progress_printer
from .errors import NhiplanError

PROG = "nhiplan"


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse prints usage and exits 2; keep it one clear line
        raise UsageError(f"{self.prog}: {message}")


def _fail(message: str, code: int = 2) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return code


# -- commands --------------------------------------------------------------------------------

def cmd_init(a: argparse.Namespace) -> int:
    store = services.init_project(a.project, name=a.name, client=a.client)
    store.close()
    print(a.project)
    return 0


def cmd_import(a: argparse.Namespace) -> int:
    store = services.open_project(a.project)
    try:
        summaries = services.import_paths(store, a.paths, fmt=a.format, authority=a.authority,
                                          progress=progress_printer(not a.quiet))
    finally:
        store.close()
    if not a.quiet and sys.stderr.isatty():
        print(file=sys.stderr)
    for s in summaries:
        print_summary(s, f"imported {s.source_kind} ({s.origin}) from {len(s.files)} file(s)")
    return 0


def cmd_list(a: argparse.Namespace) -> int:
    store = services.open_project(a.project)
    try:
        rows = services.list_identities(store, include_people=a.all, kind=a.kind, decision=a.decision)
    finally:
        store.close()
    if a.json:
        contract_keys = ("key", "name", "kind", "authority", "sources", "enabled", "last_used", "credentials",
                         "groups", "consumers", "recommendation", "decision", "tags")
        print(json.dumps([{k: r[k] for k in contract_keys} | {k: r[k] for k in r if k not in contract_keys}
                          for r in rows], indent=2, ensure_ascii=False))
        return 0
    if not rows:
        print("no identities")
        return 0
    width = min(max(len(r["key"]) for r in rows), 60)
    print(f"{'KEY':<{width}}  {'KIND':<17} {'ENABLED':<7} {'LAST USED':<10} {'DECISION':<9} TAGS")
    for r in rows:
        last = (r["last_used"] or "never")[:10]
        enabled = {True: "yes", False: "no", None: "?"}[r["enabled"]]
        print(f"{r['key']:<{width}}  {r['kind']:<17} {enabled:<7} {last:<10} {r['decision']:<9} "
              f"{','.join(r['tags'])}")
    return 0


def cmd_recommend(a: argparse.Namespace) -> int:
    try:
        from .analysis import recommend as rec
    except ImportError:
        return _fail("recommendations are not available in this build")
    store = services.open_project(a.project)
    try:
        return rec.cli(store, a)
    finally:
        store.close()


def cmd_policy(a: argparse.Namespace) -> int:
    from .analysis import policy

    if a.default:
        return policy.cli(None, a)
    store = services.open_project(a.project)
    try:
        return policy.cli(store, a)
    finally:
        store.close()


def cmd_decide(a: argparse.Namespace) -> int:
    store = services.open_project(a.project)
    try:
        if a.file:
            if a.identity or a.decision:
                raise UsageError("decide: give either IDENTITY DECISION or --file, not both")
            changes = services.decide_file(store, a.file)
            changed = sum(1 for c in changes if c.changed)
            print(f"recorded {len(changes)} decision(s) ({changed} changed)")
            return 0
        if not a.identity or not a.decision:
            raise UsageError("decide: IDENTITY and DECISION (split|keep|retire|undecided) are required")
        change = services.decide(store, a.identity, a.decision, a.reason or "")
        print(f"{change.key}: {a.decision}" + ("" if change.changed else " (unchanged)"))
        return 0
    finally:
        store.close()


def cmd_plan(a: argparse.Namespace) -> int:
    store = services.open_project(a.project)
    try:
        plan = services.make_plan(store, target=a.target)
    finally:
        store.close()
    options = {k: getattr(a, k) for k in ("author", "logo", "version", "date") if getattr(a, k, None)}
    out = services.write_plan(plan, a.output, a.format, options)
    print(f"{out}: {plan.summary['steps']} steps in {plan.summary['waves']} waves for "
          f"{len(plan.identities)} identities, {plan.summary['findings']} findings")
    return 0


def cmd_diff(a: argparse.Namespace) -> int:
    try:
        from .render import diff as plan_diff
    except ImportError:
        return _fail("diff is not available in this build")
    return plan_diff.cli(a)


def cmd_verify(a: argparse.Namespace) -> int:
    ok, message = services.verify_plan(a.plan)
    print(f"{a.plan}: {message}")
    return 0 if ok else 1


def _display_available() -> bool:
    if sys.platform in ("win32", "darwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
                or os.environ.get("QT_QPA_PLATFORM") in ("offscreen", "minimal", "vnc"))


def cmd_demo(a: argparse.Namespace) -> int:
    project, plan_path = services.build_demo(a.out)
    print(project)
    print(f"plan: {plan_path}", file=sys.stderr)
    if a.gui:
        if not _display_available():
            print("no display: not opening the desktop app (run 'nhiplan gui " f"{project}' on a desktop)",
                  file=sys.stderr)
            return 0
        return _run_gui(str(project))
    return 0


def _run_gui(project: str | None) -> int:
    try:
        from nhiplan.gui.app import run
    except ImportError as exc:
        return _fail(f"the desktop app needs PySide6 ({exc.name or exc}); install nhiplan[gui]")
    return run(project)


def cmd_gui(a: argparse.Namespace) -> int:
    if a.project:
        services.open_project(a.project).close()  # a bad path is a clear error, not a dialog at start
    return _run_gui(a.project)


def _live_command(module: str) -> Callable[[argparse.Namespace], int]:
    def run(a: argparse.Namespace) -> int:
        import importlib

        try:
            mod = importlib.import_module(f"nhiplan.core.importers.{module}")
        except ImportError:
            return _fail(f"the {a.command} source is not available in this build")
        return mod.cli(a)

    return run


# -- parser ----------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog=PROG, description="Plan the move of service accounts onto first-class agent identities.")
    p.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)

    s = sub.add_parser("gui", help="open the desktop app")
    s.add_argument("project", nargs="?")
    s.set_defaults(func=cmd_gui)

    s = sub.add_parser("demo", help="build the demo project from the bundled sample estate")
    s.add_argument("--out", default="nhiplan-demo", help="folder for demo.nhiplan and its plan")
    s.add_argument("--gui", action="store_true", help="open the desktop app on it")
    s.set_defaults(func=cmd_demo)

    s = sub.add_parser("init", help="create an empty project")
    s.add_argument("project")
    s.add_argument("--name")
    s.add_argument("--client")
    s.set_defaults(func=cmd_init)

    s = sub.add_parser("import", help="import export files or folders")
    s.add_argument("project")
    s.add_argument("paths", nargs="+", metavar="PATH")
    s.add_argument("--format", default="auto",
                   choices=["auto", "ldif", "ad-csv", "ldapdomaindump", "entra-json", "scim-json"])
    s.add_argument("--authority", help="domain or tenant the files belong to (default: from the data)")
    s.add_argument("--quiet", action="store_true", help="no progress output")
    s.set_defaults(func=cmd_import)

    s = sub.add_parser("ldap", help="pull from a live directory (AD or LDAPv3)")
    s.add_argument("project")
    s.add_argument("--url", required=True)
    s.add_argument("--base", required=True)
    s.add_argument("--bind-dn")
    s.add_argument("--password-env", metavar="VAR")
    s.add_argument("--starttls", action="store_true")
    s.add_argument("--ca-file", metavar="PEM")
    s.add_argument("--insecure", action="store_true")
    s.add_argument("--filter", metavar="LDAPFILTER")
    s.add_argument("--page-size", type=int, default=500, metavar="N")
    s.add_argument("--auth", choices=["simple", "ntlm", "anonymous"],
                   help="bind method (default: simple with --bind-dn, else anonymous); ntlm takes DOMAIN\\user")
    s.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS", help="connect and response timeout")
    s.add_argument("--scope", choices=["all", "service"], default="all",
                   help="all: every user, computer and group; service: service accounts and what they touch")
    s.add_argument("--service-ou", action="append", metavar="OU", help="an OU whose accounts are service accounts")
    s.add_argument("--name-pattern", action="append", metavar="GLOB", help="a service-account name pattern")
    s.add_argument("--authority", help="domain for entries whose DN has no DC= components")
    s.set_defaults(func=_live_command("ldap_live"))

    s = sub.add_parser("entra", help="pull from Microsoft Graph")
    s.add_argument("project")
    s.add_argument("--tenant", required=True)
    s.add_argument("--client-id", required=True)
    cred = s.add_mutually_exclusive_group(required=True)
    cred.add_argument("--secret-env", metavar="VAR")
    cred.add_argument("--certificate", metavar="PEM")
    cred.add_argument("--device-code", action="store_true")
    s.add_argument("--key", metavar="PEM")
    s.add_argument("--authority", metavar="URL")
    s.add_argument("--graph-url", metavar="URL", default="https://graph.microsoft.com/v1.0")
    s.add_argument("--ca-file", metavar="PEM")
    s.set_defaults(func=_live_command("entra_live"))

    s = sub.add_parser("scim", help="pull Users/Groups (and Agents) from a SCIM 2.0 service")
    s.add_argument("project")
    s.add_argument("--url", required=True)
    s.add_argument("--token-env", metavar="VAR")
    s.add_argument("--ca-file", metavar="PEM")
    s.set_defaults(func=_live_command("scim_live"))

    s = sub.add_parser("list", help="the inventory")
    s.add_argument("project")
    s.add_argument("--json", action="store_true")
    s.add_argument("--all", action="store_true", help="include people")
    s.add_argument("--kind")
    s.add_argument("--decision", choices=["split", "keep", "retire", "undecided"])
    s.set_defaults(func=cmd_list)

    s = sub.add_parser("recommend", help="recommendations with their reasons")
    s.add_argument("project")
    s.add_argument("--json", action="store_true")
    s.add_argument("--apply", action="store_true", help="record them as decisions where none exists")
    s.set_defaults(func=cmd_recommend)

    s = sub.add_parser("policy", help="show or change the recommendation policy of a project")
    s.add_argument("project")
    what = s.add_mutually_exclusive_group()
    what.add_argument("--set", metavar="POLICY.yaml", help="keep this override (merged over the default)")
    what.add_argument("--reset", action="store_true", help="drop the project's override")
    what.add_argument("--default", action="store_true", help="print the shipped default, with its comments")
    s.set_defaults(func=cmd_policy)

    s = sub.add_parser("decide", help="record decisions")
    s.add_argument("project")
    s.add_argument("identity", nargs="?")
    s.add_argument("decision", nargs="?", choices=["split", "keep", "retire", "undecided"])
    s.add_argument("--reason")
    s.add_argument("--file", metavar="DECISIONS.yaml")
    s.set_defaults(func=cmd_decide)

    s = sub.add_parser("plan", help="write the migration playbook")
    s.add_argument("project")
    s.add_argument("-o", "--output", required=True, metavar="OUT")
    s.add_argument("--format", choices=["yaml", "md", "html", "pdf", "csv"])
    s.add_argument("--target", default="generic", choices=["generic", "entra", "okta", "keycloak"])
    s.add_argument("--author")
    s.add_argument("--logo", metavar="IMAGE")
    s.add_argument("--version", dest="version", metavar="TEXT")
    s.add_argument("--date", metavar="YYYY-MM-DD")
    s.set_defaults(func=cmd_plan)

    s = sub.add_parser("diff", help="what changed between two exported plans")
    s.add_argument("old")
    s.add_argument("new")
    s.add_argument("--format", default="text", choices=["text", "md"])
    s.set_defaults(func=cmd_diff)

    s = sub.add_parser("verify", help="check a plan's integrity hash")
    s.add_argument("plan")
    s.set_defaults(func=cmd_verify)
    return p


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("nhiplan")
    except Exception:
        return "unknown"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if not getattr(args, "command", None):
            return _run_gui(None)
        return args.func(args)
    except UsageError as exc:
        return _fail(str(exc).removeprefix(f"{PROG}: "))
    except NhiplanError as exc:
        return _fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        return _fail("interrupted; nothing was written", 130)
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
