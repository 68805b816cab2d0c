"""Recommendations of a large estate run in a child process: same result, cancellable, errors as sentences."""

from __future__ import annotations

import threading

import pytest

from nhiplan.core import services
from nhiplan.core.errors import Cancelled
from nhiplan.gui.child_process import ChildFailed, recommendations_for, run_in_child


def test_the_child_computes_what_core_computes(estate_path):
    store = services.open_project(estate_path)
    try:
        expected = services.recommendations(store)
        url = store.url
    finally:
        store.close()
    got = run_in_child(recommendations_for, (url,), lambda: False)
    assert got == expected and len(got) == 6


def test_cancelling_stops_the_child(estate_path):
    store = services.open_project(estate_path)
    url = store.url
    store.close()
    flag = threading.Event()
    flag.set()
    with pytest.raises(Cancelled):
        run_in_child(recommendations_for, (url,), flag.is_set)


def test_a_failure_in_the_child_is_one_line(tmp_path):
    with pytest.raises(ChildFailed) as caught:
        run_in_child(recommendations_for, (str(tmp_path / "missing.nhiplan"),), lambda: False)
    assert "no such project" in str(caught.value)
    assert "Traceback" not in str(caught.value)
