"""The recommendation policy: shipped default, project override (merge, check, audit), CLI."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import yaml
from sqlalchemy import select

from nhiplan.core import cli, services
from nhiplan.core.analysis.policy import (
    default_policy,
    default_policy_text,
    parse_override,
    policy_from_text,
    resolve_now,
)
from nhiplan.core.errors import BadInput
from nhiplan.core.model import ImportRun

NOW = datetime(2026, 10, 1, tzinfo=UTC)


def rec_of(store, name, now=NOW):
    return next(r for r in services.recommendations(store, now=now) if r["name"] == name)


def test_shipped_default_is_documented_field_by_field():
    text = default_policy_text()
    lines = text.splitlines()
    data = yaml.safe_load(text)
    # Every rule, threshold and top-level setting has a comment right above it.
    for section, keys in (("rules", data["rules"]), ("thresholds", data["thresholds"]), (None, data)):
        for key in keys:
            pattern = re.compile(rf"^{'  ' if section else ''}{re.escape(key)}:")
            idx = next(i for i, line in enumerate(lines) if pattern.match(line)
                       and (section is None or _inside(lines, i, section)))
            above = lines[idx - 1].strip()
            assert above.startswith("#"), f"{section or 'top'}.{key} has no comment above it"


def _inside(lines: list[str], idx: int, section: str) -> bool:
    for line in reversed(lines[:idx]):
        if line and not line.startswith((" ", "#")):
            return line.startswith(f"{section}:")
    return False


def test_override_merges_over_the_default():
    policy = policy_from_text("thresholds:\n  stale_days: 90\nrules:\n  stale: {weight: 5}\n")
    assert policy.threshold("stale_days") == 90
    assert policy.threshold("max_password_age_days") == default_policy().threshold("max_password_age_days")
    assert policy.rules["stale"].weight == 5.0 and policy.rules["stale"].vote == "retire"
    # lists replace instead of merging
    policy = policy_from_text("privileged_groups:\n  names: [Tier Zero]\n")
    assert policy.data["privileged_groups"]["names"] == ["Tier Zero"]
    assert policy.data["privileged_groups"]["sids"] == default_policy().data["privileged_groups"]["sids"]


@pytest.mark.parametrize(("text", "message"), [
    ("rules:\n  stale:\n    enabld: false\n", r"^policy:3: rules\.stale\.enabld: unknown setting"),
    ("thresholds:\n  stale_days: many\n", r"^policy:2: thresholds\.stale_days: must be a number"),
    ("thresholds:\n  stale_days: -1\n", r"^policy:2: thresholds\.stale_days: must not be negative"),
    ("rules:\n  stale: {vote: delete}\n", r"^policy:2: rules\.stale\.vote: must be null or one of split"),
    ("rules:\n  stale: {tags: [NHI11]}\n", r"rules\.stale\.tags\.0: 'NHI11' is not an OWASP NHI id"),
    ("rules:\n  stale: {enabled: 'no'}\n", r"rules\.stale\.enabled: must be true or false"),
    ("interactive_use:\n  person_name_pattern: '[a-z'\n", r"not a valid regular expression"),
    ("split_planner:\n  lifetime: soon\n", r"split_planner\.lifetime: 'soon' is not a duration"),
    ("split_planner:\n  default_credential: password\n", r"default_credential: must be one of"),
    ("scoring:\n  tie_break: [keep, keep, retire]\n", r"tie_break: must list each of"),
    ("now: yesterday\n", r"now: must be null or an ISO 8601 date"),
    ("- just\n- a list\n", r"^policy: a policy is a mapping"),
    ("rules: [\n", r"^policy:2: not valid YAML"),
    ("nonsense: 1\n", r"^policy:1: nonsense: unknown setting"),
])
def test_a_bad_override_names_the_line_and_the_key(text, message):
    with pytest.raises(BadInput, match=message):
        parse_override(text)


def test_a_rule_can_be_switched_off_retuned_and_revoted(small_estate):
    assert "stale" in rec_of(small_estate, "svc_old")["rules"]
    services.set_policy(small_estate, "rules:\n  stale: {enabled: false}\n", author="ana")
    assert "stale" not in rec_of(small_estate, "svc_old")["rules"]
    services.set_policy(small_estate, "thresholds:\n  stale_days: 4000\n", author="ana")
    assert "stale" not in rec_of(small_estate, "svc_old")["rules"]
    services.set_policy(small_estate, "rules:\n  disabled: {vote: keep, weight: 10}\n", author="ana")
    assert rec_of(small_estate, "svc_old")["recommendation"] == "keep"
    services.set_policy(small_estate, None, author="ana")
    assert rec_of(small_estate, "svc_old")["recommendation"] == "retire"


def test_policy_changes_are_stored_and_audited(small_estate, tmp_path):
    services.set_policy(small_estate, "thresholds:\n  stale_days: 30\n", author="ana", reason="tighter")
    got = services.get_policy(small_estate)
    assert got["override"] == "thresholds:\n  stale_days: 30\n"
    assert yaml.safe_load(got["effective"])["thresholds"]["stale_days"] == 30
    assert got["default"] == default_policy_text()
    log = services.audit_log(small_estate, subject="policy")
    assert log[0]["action"] == "set-policy" and log[0]["actor"] == "ana" and log[0]["reason"] == "tighter"
    assert log[0]["before"] == {"policy": None} and log[0]["after"] == {"policy": "thresholds:\n  stale_days: 30\n"}
    reopened = services.open_project(small_estate.url.removeprefix("sqlite:///"))
    try:
        assert services.get_policy(reopened)["override"] == "thresholds:\n  stale_days: 30\n"
    finally:
        reopened.close()


def test_a_bad_override_is_refused_and_changes_nothing(small_estate):
    services.set_policy(small_estate, "thresholds:\n  stale_days: 30\n")
    with pytest.raises(BadInput):
        services.set_policy(small_estate, "thresholds:\n  stale_dayz: 30\n")
    assert services.get_policy(small_estate)["override"] == "thresholds:\n  stale_days: 30\n"


def test_now_is_the_latest_import_unless_the_policy_or_caller_says(small_estate):
    with small_estate.session() as s:
        latest = s.scalar(select(ImportRun.started_at).order_by(ImportRun.id.desc()))
        assert resolve_now(s, default_policy()) == latest
        assert resolve_now(s, policy_from_text("now: 2019-06-01\n")) == datetime(2019, 6, 1, tzinfo=UTC)
        assert resolve_now(s, policy_from_text("now: 2019-06-01\n"), NOW) == NOW
    # svc_old was last used 2019-03-04: 89 days before a pinned "now" is not stale.
    services.set_policy(small_estate, "now: 2019-06-01\n")
    assert "stale" not in next(r for r in services.recommendations(small_estate) if r["name"] == "svc_old")["rules"]


def test_policy_command(small_estate, tmp_path, capsys):
    project = small_estate.url.removeprefix("sqlite:///")
    good = tmp_path / "p.yaml"
    good.write_text("thresholds:\n  stale_days: 45\n")
    assert cli.main(["policy", project, "--set", str(good)]) == 0
    assert cli.main(["policy", project]) == 0
    out = capsys.readouterr().out
    assert "stale_days: 45" in out and "override merged over it" in out
    bad = tmp_path / "bad.yaml"
    bad.write_text("thresholds:\n  stale_days: 45\n  split_min_consumer: 2\n")
    assert cli.main(["policy", project, "--set", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"nhiplan: error: {bad}:3: thresholds.split_min_consumer: unknown setting (known here: "
                   "stale_days, max_password_age_days, max_secret_lifetime_days, split_min_workloads, "
                   "split_min_ai_workloads, many_permissions)"]
    assert services.get_policy(small_estate)["override"] == "thresholds:\n  stale_days: 45\n"
    assert cli.main(["policy", project, "--reset"]) == 0
    assert services.get_policy(small_estate)["override"] is None
    assert cli.main(["policy", project, "--default"]) == 0
    assert capsys.readouterr().out.endswith(default_policy_text())
    assert cli.main(["policy", project, "--set", str(tmp_path / "missing.yaml")]) == 2
