"""Bad SCIM exports: exit 2, one line naming the file and the resource (and line), the project unchanged."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from nhiplan.core import services
from nhiplan.core.cli import main
from nhiplan.core.model import Credential, Edge, Finding, Identity, ImportRun, Node, Sighting

DATA = Path(__file__).parent / "data" / "scim"
BAD = DATA / "bad"


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A project that already holds an import, so that "unchanged" means something."""
    path = tmp_path_factory.mktemp("tpl") / "p.nhiplan"
    assert main(["init", str(path)]) == 0
    assert main(["import", str(path), str(DATA / "search-mixed.json")]) == 0
    return path


@pytest.fixture
def proj(template, tmp_path):
    path = tmp_path / "p.nhiplan"
    shutil.copy(template, path)
    return path


def counts(path) -> dict[str, int]:
    store = services.open_project(path)
    try:
        with store.session() as s:
            return {m.__tablename__: s.scalar(select(func.count()).select_from(m))
                    for m in (Identity, Node, Edge, Credential, Finding, Sighting, ImportRun)}
    finally:
        store.close()


# (file, what the one line must name besides the file, the reason)
CASES = [
    ("active-not-boolean.json", "Resources[2]", "attribute 'active': Input should be a valid boolean"),
    ("missing-username.ndjson", "missing-username.ndjson:4: resource 2", "has no userName"),
    ("missing-id.json", "[1]", "has no 'id'"),
    ("duplicate-id.json", "Resources[2]", "id 'u0' is also used by a different resource"),
    ("duplicate-username.json", "[1]", "userName 'USER0@example.com' is also used by"),
    ("error-response.json", "error-response.json", "SCIM error response (status 401: Authorization failure)"),
    ("resources-not-array.json", "resources-not-array.json", "'Resources' must be an array"),
    ("emails-not-array.json", "Resources[1]", "attribute 'emails'"),
    ("bad-certificate.json", "Resources[0]", "attribute 'x509Certificates[0].value': Base64 decoding error"),
    ("total-without-resources.json", "total-without-resources.json", "totalResults 3 but has no Resources"),
    ("total-negative.json", "total-negative.json", "'totalResults' is negative"),
    ("unknown-type.json", "[1]", "cannot tell the resource type"),
    ("schemas-not-array.json", "[1]", "'schemas' must be an array"),
    ("group-without-name.json", "Resources[1]", "the Group 'g1' has no displayName"),
    ("members-not-array.json", "Resources[1]", "attribute 'members'"),
    ("resource-is-a-string.json", "[1]", "must be a JSON object, not a string"),
    ("created-not-a-date.json", "[0]", "attribute 'meta.created'"),
    ("userName-not-string.json", "Resources[1]", "attribute 'userName'"),
    ("truncated.json", "truncated.json:24:17", "invalid JSON: unterminated string"),
    ("draft-trailing-comma.json", "draft-trailing-comma.json:7:1", "invalid JSON: expecting property name"),
    ("draft-wrapped-certificate.json", "draft-wrapped-certificate.json:6:80",
     "invalid JSON: invalid control"),
    ("latin1.json", "latin1.json:1", "not UTF-8 text"),
    ("patch-unknown-resource.ndjson", "patch-unknown-resource.ndjson:2: operation 1",
     "PATCH of User 'zzz', which was not read before it"),
    ("bare-patchop.json", "bare-patchop.json", "a PATCH request without the resource it changes"),
    ("bulk-bad-op.json", "Operations[1]", "'frobnicate' is not a PATCH operation"),
    ("operation-bad-method.ndjson", "operation 0", "unknown operation method 'GET'"),
]


@pytest.mark.parametrize("name, where, reason", CASES, ids=[c[0] for c in CASES])
def test_bad_export_is_refused_and_writes_nothing(proj, capsys, name, where, reason):
    before = counts(proj)
    capsys.readouterr()
    assert main(["import", str(proj), str(BAD / name)]) == 2
    out = capsys.readouterr()
    assert out.out == ""
    line = out.err
    assert line.startswith("nhiplan: error: ") and line.count("\n") == 1 and "Traceback" not in line
    assert str(BAD / name) in line and where in line and reason in line, line
    assert "Sup3rSecret!" not in line  # a password elsewhere in the file never reaches the message
    assert counts(proj) == before


def test_empty_file_with_explicit_format(proj, capsys):
    before = counts(proj)
    capsys.readouterr()
    assert main(["import", str(proj), str(BAD / "empty.json"), "--format", "scim-json"]) == 2
    assert "empty.json: empty file" in capsys.readouterr().err
    assert counts(proj) == before


def test_one_bad_file_in_a_folder_writes_nothing(proj, tmp_path, capsys):
    folder = tmp_path / "export"
    folder.mkdir()
    shutil.copy(DATA / "kinds.json", folder / "a-users.json")
    shutil.copy(BAD / "duplicate-id.json", folder / "b-more-users.json")
    before = counts(proj)
    capsys.readouterr()
    assert main(["import", str(proj), str(folder)]) == 2
    err = capsys.readouterr().err
    assert "b-more-users.json: Resources[2]" in err
    assert counts(proj) == before


def test_malformed_presentation_attribute_is_a_warning(proj, tmp_path, capsys):
    """Tolerant where real services deviate: a photo URL that is no URI does not stop the import."""
    f = tmp_path / "photo.json"
    f.write_text('[{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "p1", "userName": "pat",'
                 ' "photos": [{"value": "not a uri"}], "name": "Pat Doe", "active": true}]')
    capsys.readouterr()
    assert main(["import", str(proj), str(f), "--authority", "photo-app"]) == 0
    err = capsys.readouterr().err
    assert "photo.json: [0]: attribute 'photos[0].value'" in err and "ignored" in err
    assert "attribute 'name'" in err
    store = services.open_project(proj)
    rows = services.list_identities(store, include_people=True)
    store.close()
    assert "scim:photo-app/pat" in {r["key"] for r in rows}
