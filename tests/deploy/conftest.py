"""Start the Dockerfile's install commands in a clean venv as soon as collection ends, when the test
that needs them is selected: the install (mostly waiting on pip) then overlaps the rest of the suite
instead of adding its 20-odd seconds at the end."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.conftest import server_env

ROOT = Path(__file__).resolve().parents[2]
INSTALL = pytest.StashKey[tuple]()  # (process, venv, env, log) of the background install
NEEDS_INSTALL = "test_the_dockerfiles_own_install_and_start_commands_serve_readyz"


def dockerfile_steps() -> list[tuple[str, str]]:
    """The Dockerfile's (instruction, arguments) pairs, continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            instruction, _, arguments = line.partition(" ")
            pairs.append((instruction.upper(), arguments.strip()))
    return pairs


def pytest_collection_finish(session) -> None:
    if not any(item.name == NEEDS_INSTALL for item in session.items):
        return
    venv = Path(tempfile.mkdtemp(prefix="dockerfile-venv-")) / "venv"
    installs = [arguments for instruction, arguments in dockerfile_steps()
                if instruction == "RUN" and "pip install" in arguments]
    script = [f"{shlex.quote(sys.executable)} -m venv {shlex.quote(str(venv))}"]
    script += [f"{command} -q" for command in installs]
    env = server_env(PATH=f"{venv / 'bin'}:{os.environ['PATH']}", PIP_DISABLE_PIP_VERSION_CHECK="1")
    env.pop("VIRTUAL_ENV", None)
    log = open(venv.parent / "install.log", "w+b")  # noqa: SIM115 read by the test, closed with the session
    process = subprocess.Popen(["bash", "-euc", " && ".join(script)], cwd=ROOT, env=env, stdout=log,
                               stderr=subprocess.STDOUT)
    session.config.stash[INSTALL] = (process, venv, env, log)


