"""Bad LDIF input: every error is a BadInput naming the file, the line and the reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from nhiplan.core.errors import BadInput
from nhiplan.core.importers.base import ImportContext
from nhiplan.core.importers.ldif import LdifImporter

DATA = Path(__file__).parent / "data" / "ldif"


def import_error(path: Path, **options) -> BadInput:
    with pytest.raises(BadInput) as caught:
        for _ in LdifImporter().read(path, ImportContext(options=options)):
            pass
    return caught.value


@pytest.mark.parametrize(
    ("name", "line", "reason"),
    [
        ("bad_no_colon.ldif", 4, "line has no ':' between attribute and value: 'this line has no separator'"),
        ("bad_base64.ldif", 7, "invalid base64 in the value of objectSid"),
        ("bad_no_dn.ldif", 3, "record does not start with 'dn:' (found 'objectClass:')"),
        ("bad_second_dn.ldif", 4, "a second 'dn:' line in one record"),
        ("bad_utf8.ldif", 3, "bytes that are not UTF-8 (byte 0xFC at column 15)"),
        (
            "bad_leading_continuation.ldif",
            1,
            "continuation line (starts with a space or TAB) at the start of the file",
        ),
        (
            "bad_continuation_after_blank.ldif",
            4,
            "continuation line (starts with a space or TAB) right after a blank",
        ),
        ("bad_version.ldif", 1, "unsupported LDIF version '2'"),
        ("bad_changetype.ldif", 2, "unknown changetype 'frobnicate'"),
        ("bad_utf16_truncated.ldif", 1, "the file is not valid utf-16-le"),
        ("windapsearch.txt", 1, "this looks like pseudo-LDIF from windapsearch"),
    ],
)
def test_bad_lines_are_named(name, line, reason):
    path = DATA / name
    error = import_error(path)
    assert error.where == f"{path}:{line}"
    assert reason in error.reason
    assert str(error).startswith(f"{path}:{line}: ")


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("empty.ldif", "no LDIF records: the file is empty or holds only comments"),
        ("only_comments.ldif", "no LDIF records: the file is empty or holds only comments"),
        (
            "only_changes.ldif",
            "no directory entries: the file holds only references, trailers or change records",
        ),
    ],
)
def test_files_without_entries(name, reason):
    path = DATA / name
    error = import_error(path)
    assert error.where == str(path)
    assert error.reason == reason


def test_windapsearch_message_says_what_to_do():
    reason = import_error(DATA / "windapsearch.txt").reason
    assert "without 'dn:'" in reason
    assert "single colon" in reason
    assert "ldapsearch or ldifde" in reason


def test_error_after_good_records_names_the_later_line(tmp_path):
    good = "".join(
        f"dn: CN=u{i},OU=Staff,DC=corp,DC=example,DC=test\nobjectClass: user\nsAMAccountName: u{i}\n\n"
        for i in range(2000)
    )
    path = tmp_path / "late.ldif"
    path.write_text(good + "dn: CN=bad,DC=corp,DC=example,DC=test\nobjectClass: user\nbroken line\n")
    error = import_error(path)
    assert error.where == f"{path}:{2000 * 4 + 3}"


def test_error_inside_a_folded_record_names_the_physical_line(tmp_path):
    path = tmp_path / "folded.ldif"
    path.write_text(
        "# comment\n"
        "dn: CN=a,OU=Service Accounts,DC=corp,DC=exa\n"
        " mple,DC=test\n"
        "description: a long descr\n"
        " iption folded\n"
        "objectGUID:: PSwbCl9OcWCC\n"
        " k6S1xtfo+Q==$$\n"
    )
    error = import_error(path)
    assert error.where == f"{path}:6"
    assert "invalid base64 in the value of objectGUID" in error.reason


def test_crlf_file_errors_count_lines_the_same(tmp_path):
    path = tmp_path / "crlf.ldif"
    path.write_bytes(
        b"version: 1\r\n\r\ndn: CN=a,DC=corp,DC=example,DC=test\r\nobjectClass: user\r\nnocolon\r\n"
    )
    assert import_error(path).where == f"{path}:5"


def test_utf16_file_errors_name_the_line(tmp_path):
    path = tmp_path / "utf16.ldif"
    text = "dn: CN=a,DC=corp,DC=example,DC=test\r\nobjectClass: user\r\n\r\nno colon here\r\n"
    path.write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))
    error = import_error(path)
    assert error.where == f"{path}:4"
    assert "no ':'" in error.reason


def test_invalid_attribute_name(tmp_path):
    path = tmp_path / "name.ldif"
    path.write_text("dn: CN=a,DC=corp,DC=example,DC=test\nobject Class: user\n")
    error = import_error(path)
    assert error.where == f"{path}:2"
    assert error.reason == "not an attribute name: 'object Class'"


def test_base64_dn_that_is_not_utf8(tmp_path):
    path = tmp_path / "dn.ldif"
    path.write_text("dn:: /w==\nobjectClass: user\n")
    error = import_error(path)
    assert (error.where, error.reason) == (f"{path}:1", "the base64 DN is not UTF-8 text")


def test_entry_without_a_domain_needs_an_authority(tmp_path):
    path = tmp_path / "generic.ldif"
    path.write_text("\n\ndn: uid=a,ou=people,o=example\nobjectClass: inetOrgPerson\nuid: a\n")
    error = import_error(path)
    assert error.where == f"{path}:3"
    assert "has no DC= components" in error.reason and "--authority" in error.reason


def test_bad_service_account_rule_option():
    error = import_error(DATA / "ldifde_crlf.ldif", service_account_rule={"patterns": ["x"]})
    assert error.where == "service_account_rule"
    assert "unknown service-account rule keys: patterns" in error.reason


def test_the_value_of_a_bad_line_is_shortened(tmp_path):
    path = tmp_path / "long.ldif"
    path.write_text("dn: CN=a,DC=corp,DC=example,DC=test\n" + "x" * 500 + "\n")
    error = import_error(path)
    assert len(str(error)) < len(str(path)) + 150
