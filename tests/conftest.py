"""Shared fixtures: small estates built from records, without any importer."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from nhiplan.core import services
from tests.estates import small_estate_records


@pytest.fixture
def project(tmp_path):
    """An empty project file; yields the open store."""
    store = services.init_project(tmp_path / "p.nhiplan", name="Test", client="Acme")
    yield store
    store.close()


@pytest.fixture
def small_estate(project):
    """The small estate of tests/estates.py imported into a project."""
    services.import_records(project, [small_estate_records()], source_kind="ldif", family="ad",
                            source="small-estate.ldif")
    return project
