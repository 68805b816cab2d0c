"""Real SCIM 2.0 services for the tests: scim2-server processes on loopback.

`start_scim_server` serves Users and Groups (RFC 7643); with `agents=True` it also serves
the draft Agent resource at /Agents, from the schema in tests/peers/scim/agent-schema.json
added to the server's own default schemas and resource types.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests

HERE = Path(__file__).parent
AGENT_SCHEMA = HERE / "scim" / "agent-schema.json"
AGENT_RESOURCE_TYPE = {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
    "id": "Agent", "name": "Agent", "description": "AI agent (draft)", "endpoint": "/Agents",
    "schema": "urn:ietf:params:scim:schemas:core:2.0:Agent",
}


@dataclass
class ScimServer:
    base_url: str
    process: subprocess.Popen

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _executable() -> str:
    candidate = Path(sys.executable).with_name("scim2-server")
    return str(candidate) if candidate.exists() else (shutil.which("scim2-server") or "scim2-server")


def _start(args: list[str], log: Path) -> ScimServer:
    port = _free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen([_executable(), "--hostname", "127.0.0.1", "--port", str(port), *args],
                                stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    base = f"http://127.0.0.1:{port}/v2"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"scim2-server exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            if requests.get(base + "/ServiceProviderConfig", timeout=1).status_code == 200:
                return ScimServer(base, proc)
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("scim2-server did not answer within 20 s")


def start_scim_server(workdir: Path, agents: bool = False, reference: ScimServer | None = None) -> ScimServer:
    """A fresh in-memory SCIM service. With agents=True, `reference` (a default server) supplies
    the default schemas and resource types that the Agent resource is added to."""
    workdir.mkdir(parents=True, exist_ok=True)
    if not agents:
        return _start([], workdir / "scim-users.log")
    assert reference is not None, "an Agents server is built from a default server's schemas"

    def listed(path: str) -> list[dict]:
        items = requests.get(reference.base_url + path, timeout=5).json()["Resources"]
        for item in items:
            item.pop("meta", None)
        return items

    schemas = [*listed("/Schemas"), json.loads(AGENT_SCHEMA.read_text())]
    types = [*listed("/ResourceTypes"), AGENT_RESOURCE_TYPE]
    (workdir / "schemas.json").write_text(json.dumps(schemas))
    (workdir / "resource-types.json").write_text(json.dumps(types))
    return _start(["--schema", str(workdir / "schemas.json"), "--resource-type", str(workdir / "resource-types.json")],
                  workdir / "scim-agents.log")
