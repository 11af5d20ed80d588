"""Settings (config.py): today's keys and defaults, units, one line naming each bad setting (in
create_app and from gunicorn's master), the file store and Bedrock startup checks, the unknown-variable
warning, and the README's table generated from the schema."""

from __future__ import annotations

import logging
import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import config
from app import create_app
from config import ConfigError
from tests.conftest import server_env
from translators.claude_models import NO_SAMPLING_MODELS, TEMPERATURE_AND_TOP_P_MODELS

ROOT = Path(__file__).resolve().parents[1]
MB = 1024 * 1024


def test_unset_variables_give_the_keys_and_defaults_the_code_has_always_read():
    settings = config.load({})
    assert {key: settings[key] for key in EXPECTED_DEFAULTS} == EXPECTED_DEFAULTS


EXPECTED_DEFAULTS = {
    "API_KEYS": [], "ALLOWED_ORIGINS": [], "OPENAI_API_KEY": "", "ANTHROPIC_API_KEY": "", "GEMINI_API_KEY": "",
    "OPENAI_BASE_URL": "https://api.openai.com/v1", "ANTHROPIC_BASE_URL": "https://api.anthropic.com",
    "GEMINI_BASE_URL": "https://generativelanguage.googleapis.com", "UPSTREAM_TIMEOUT": (5.0, 120.0),
    "UPSTREAM_RETRIES": 3, "UPSTREAM_BUDGET": 300.0, "UPSTREAM_MIN_RATE": 1024, "MAX_CONTENT_LENGTH": 512 * MB,
    "MAX_JSON_BYTES": 10 * MB, "MAX_LINE_BYTES": 16 * MB, "OPENAI_MAX_BATCH_REQUESTS": 50_000,
    "FILE_STORE": "./data/files", "OWNER_SECRET": "", "ANTHROPIC_VERSION": "2023-06-01",
    "ANTHROPIC_DEFAULT_MAX_TOKENS": 4096, "ANTHROPIC_NO_SAMPLING_MODELS": list(NO_SAMPLING_MODELS),
    "ANTHROPIC_TEMPERATURE_AND_TOP_P_MODELS": list(TEMPERATURE_AND_TOP_P_MODELS),
    "ANTHROPIC_MAX_BATCH_REQUESTS": 100_000, "ANTHROPIC_MAX_BATCH_BYTES": 256 * MB,
    "GEMINI_JSONL_MIME_TYPES": ["jsonl", "application/jsonl", "application/json", "text/plain"],
    "BEDROCK_ROLE_ARN": "", "BEDROCK_MIN_RECORDS": 100, "BEDROCK_MAX_RECORDS": 50_000, "BEDROCK_REGION": "us-east-1",
    "BEDROCK_DEFAULT_BUCKET": "", "BEDROCK_DEFAULT_PREFIX": "deepintshield", "BEDROCK_ALLOWED_BUCKETS": [],
    "AWS_REGIONS": [],
    # gunicorn.conf.py and gunicorn_worker.py
    "PORT": None, "BIND": None, "WEB_CONCURRENCY": 2, "GUNICORN_TIMEOUT": 600, "WORKER_CONNECTIONS": 1000,
    "HEADER_TIMEOUT": 5, "CLIENT_WINDOW": 10.0, "CLIENT_MIN_RATE": 1024,
}


def test_list_defaults_are_fresh_copies():
    first = config.load({})
    first["API_KEYS"].append("x")
    first["GEMINI_JSONL_MIME_TYPES"].clear()
    second = config.load({})
    assert second["API_KEYS"] == [] and second["GEMINI_JSONL_MIME_TYPES"]


@pytest.mark.parametrize("text, size", [
    ("1048576", 1048576), ("512MB", 512_000_000), ("16MiB", 16 * MB), ("1GB", 10**9), ("1GiB", 1 << 30),
    ("512 mb", 512_000_000), ("64kB", 64_000), ("64KiB", 65536), ("1.5GiB", 3 << 29), ("0", 0), ("10B", 10),
])
def test_sizes(text, size):
    assert config.load({"DEEPINTSHIELD_UPSTREAM_MIN_RATE": text})["UPSTREAM_MIN_RATE"] == size


@pytest.mark.parametrize("text, seconds", [("30", 30.0), ("2.5", 2.5), ("30s", 30.0), ("5m", 300.0),
                                           ("1h", 3600.0), ("250ms", 0.25)])
def test_durations(text, seconds):
    assert config.load({"DEEPINTSHIELD_READ_TIMEOUT": text})["UPSTREAM_TIMEOUT"] == (5.0, seconds)


def test_gunicorn_durations_are_whole_seconds():
    settings = config.load({"GUNICORN_TIMEOUT": "10m", "DEEPINTSHIELD_HEADER_TIMEOUT": "3s"})
    assert (settings["GUNICORN_TIMEOUT"], settings["HEADER_TIMEOUT"]) == (600, 3)


@pytest.mark.parametrize("address", ["127.0.0.1:8080", "0.0.0.0:80", "localhost:8000", "[::1]:8080",
                                     "unix:/run/gateway.sock", "fd://3"])
def test_bind_addresses(address):
    assert config.load({"DEEPINTSHIELD_BIND": address})["BIND"] == address


def test_the_pacing_settings_of_the_worker():
    environ = {"DEEPINTSHIELD_CLIENT_WINDOW": "500ms", "DEEPINTSHIELD_CLIENT_MIN_RATE": "2KiB"}
    assert config.value("CLIENT_WINDOW", environ) == 0.5 and config.value("CLIENT_MIN_RATE", environ) == 2048


def test_values_are_normalized():
    settings = config.load({
        "OPENAI_BASE_URL": " https://proxy.example/v1/ ", "DEEPINTSHIELD_ALLOWED_ORIGINS": "https://App.example/, "
        "http://localhost:3000", "DEEPINTSHIELD_API_KEYS": "k1, k2,,", "AWS_REGION": "eu-west-1",
        "DEEPINTSHIELD_FILE_STORE": "S3://bucket/files/"})
    assert settings["OPENAI_BASE_URL"] == "https://proxy.example/v1"
    assert settings["ALLOWED_ORIGINS"] == ["https://app.example", "http://localhost:3000"]
    assert settings["API_KEYS"] == ["k1", "k2"]
    assert settings["BEDROCK_REGION"] == "eu-west-1"
    assert settings["FILE_STORE"] == "s3://bucket/files/"


def test_empty_is_unset_unless_the_setting_says_what_empty_means():
    settings = config.load({"DEEPINTSHIELD_MAX_LINE_BYTES": "", "OPENAI_BASE_URL": " ",
                            "DEEPINTSHIELD_GEMINI_JSONL_MIME_TYPES": "", "DEEPINTSHIELD_BEDROCK_PREFIX": "",
                            "DEEPINTSHIELD_ANTHROPIC_NO_SAMPLING_MODELS": "",
                            "DEEPINTSHIELD_ANTHROPIC_TEMPERATURE_AND_TOP_P_MODELS": ""})
    assert settings["MAX_LINE_BYTES"] == 16 * MB and settings["OPENAI_BASE_URL"] == "https://api.openai.com/v1"
    assert settings["GEMINI_JSONL_MIME_TYPES"] == EXPECTED_DEFAULTS["GEMINI_JSONL_MIME_TYPES"]
    assert settings["BEDROCK_DEFAULT_PREFIX"] == ""  # the bucket's root
    assert settings["ANTHROPIC_NO_SAMPLING_MODELS"] == settings["ANTHROPIC_TEMPERATURE_AND_TOP_P_MODELS"] == []


def test_a_bad_size_is_one_line_naming_the_variable_and_the_expected_form():
    with pytest.raises(ConfigError) as caught:
        config.load({"DEEPINTSHIELD_MAX_UPLOAD_BYTES": "lots"})
    assert str(caught.value) == ("DEEPINTSHIELD_MAX_UPLOAD_BYTES: 'lots' is not a size; expected bytes or a number "
                                 "with a unit like 512MB")


@pytest.mark.parametrize("variable, value, problem", [
    ("PORT", "http", "'http' is not an integer"),
    ("PORT", "70000", "70000 is out of range; expected 1–65535"),
    ("DEEPINTSHIELD_BIND", "8080", "'8080' is not an address; expected HOST:PORT"),
    ("WEB_CONCURRENCY", "0", "0 is out of range; expected ≥ 1"),
    ("GUNICORN_TIMEOUT", "ten minutes", "is not whole seconds"),
    ("DEEPINTSHIELD_WORKER_CONNECTIONS", "1e3", "is not an integer"),
    ("DEEPINTSHIELD_HEADER_TIMEOUT", "2.5", "'2.5' is not whole seconds; expected whole seconds like 30"),
    ("DEEPINTSHIELD_CLIENT_WINDOW", "0", "0 is out of range; expected > 0"),
    ("DEEPINTSHIELD_CLIENT_MIN_RATE", "fast", "'fast' is not a size"),
    ("DEEPINTSHIELD_ALLOWED_ORIGINS", "https://ok.example,example.com/app", "'example.com/app' is not an origin"),
    ("OPENAI_BASE_URL", "api.openai.com/v1", "is not a URL; expected an http:// or https:// URL"),
    ("ANTHROPIC_BASE_URL", "ftp://anthropic", "is not a URL"),
    ("DEEPINTSHIELD_CONNECT_TIMEOUT", "5x", "'5x' is not a duration; expected seconds"),
    ("DEEPINTSHIELD_READ_TIMEOUT", "-1", "is not a duration"),
    ("DEEPINTSHIELD_UPSTREAM_RETRIES", "50", "50 is out of range; expected 0–10"),
    ("DEEPINTSHIELD_UPSTREAM_BUDGET", "0s", "out of range"),
    ("DEEPINTSHIELD_MAX_JSON_BYTES", "10 megs", "is not a size"),
    ("DEEPINTSHIELD_MAX_LINE_BYTES", "0.5KB2", "is not a size"),
    ("DEEPINTSHIELD_MAX_LINE_BYTES", "1.5B", "(not a whole number of bytes)"),
    ("DEEPINTSHIELD_OPENAI_MAX_BATCH_REQUESTS", "-1", "out of range; expected ≥ 0"),
    ("DEEPINTSHIELD_FILE_STORE", "gs://bucket/files", "only s3:// locations are stores"),
    ("DEEPINTSHIELD_FILE_STORE", "s3://My_Bucket/files", "'My_Bucket' is not an S3 bucket name"),
    ("DEEPINTSHIELD_FILE_STORE", "s3://bucket/a//b", "empty, '.' or '..' segment"),
    ("DEEPINTSHIELD_ANTHROPIC_VERSION", "latest", "'latest' is not a date; expected a date like 2023-06-01"),
    ("DEEPINTSHIELD_ANTHROPIC_VERSION", "2023-13-01", "is not a date"),
    ("DEEPINTSHIELD_ANTHROPIC_MAX_BATCH_BYTES", "0", "out of range"),
    ("DEEPINTSHIELD_GEMINI_JSONL_MIME_TYPES", "application/jsonl,text plain", "'text plain' is not a MIME type"),
    ("DEEPINTSHIELD_BEDROCK_ROLE_ARN", "BedrockRole", "is not an IAM role ARN; expected arn:aws:iam::"),
    ("DEEPINTSHIELD_BATCH_DISCOUNTS", "openai=half", "('half' is not a number)"),
    ("DEEPINTSHIELD_BATCH_DISCOUNTS", "openai=1.5", "(openai: 1.5 is not between 0 and 1)"),
    ("DEEPINTSHIELD_BATCH_DISCOUNTS", "openai", "('openai' is not name=fraction)"),
    ("DEEPINTSHIELD_USAGE_SCAN_SECONDS", "0", "out of range"),
    ("DEEPINTSHIELD_BEDROCK_MIN_RECORDS", "0", "out of range"),
    ("DEEPINTSHIELD_BEDROCK_REGION", "mars-1", "'mars-1' is not an AWS region"),
    ("AWS_REGION", "US East", "is not an AWS region"),
    ("DEEPINTSHIELD_AWS_REGIONS", "us-east-1,moon", "'moon' is not an AWS region; expected a comma list"),
    ("DEEPINTSHIELD_BEDROCK_BUCKET", "My_Bucket", "'My_Bucket' is not an S3 bucket name"),
    ("DEEPINTSHIELD_BEDROCK_BUCKET", "192.168.1.1", "is not an S3 bucket name"),
    ("DEEPINTSHIELD_BEDROCK_ALLOWED_BUCKETS", "ok-bucket,s3://bucket", "'s3://bucket' is not an S3 bucket name"),
])
def test_each_bad_setting_is_one_line_naming_it(variable, value, problem):
    with pytest.raises(ConfigError) as caught:
        config.load({variable: value})
    assert caught.value.lines == [caught.value.lines[0]] and str(caught.value).startswith(f"{variable}: ")
    assert problem in str(caught.value)
    assert "\n" not in str(caught.value) and "Traceback" not in str(caught.value)


def test_several_bad_settings_are_a_line_each():
    with pytest.raises(ConfigError) as caught:
        config.load({"WEB_CONCURRENCY": "many", "DEEPINTSHIELD_MAX_UPLOAD_BYTES": "lots"})
    assert [line.split(":")[0] for line in caught.value.lines] == ["WEB_CONCURRENCY", "DEEPINTSHIELD_MAX_UPLOAD_BYTES"]


def test_create_app_stops_on_a_bad_variable(test_config, monkeypatch):
    monkeypatch.setenv("DEEPINTSHIELD_MAX_UPLOAD_BYTES", "512 bananas")
    with pytest.raises(ConfigError, match=r"^DEEPINTSHIELD_MAX_UPLOAD_BYTES: '512 bananas' is not a size"):
        create_app(test_config)
    monkeypatch.setenv("DEEPINTSHIELD_MAX_UPLOAD_BYTES", "1MiB")
    assert create_app(test_config).config["MAX_CONTENT_LENGTH"] == MB


def test_a_file_store_that_cannot_be_created_stops_startup(test_config, tmp_path):
    (tmp_path / "a-file").write_text("not a directory")
    with pytest.raises(ConfigError) as caught:
        create_app({**test_config, "FILE_STORE": str(tmp_path / "a-file" / "store")})
    assert str(caught.value).startswith("DEEPINTSHIELD_FILE_STORE: ")
    assert "(Not a directory); expected a directory this process can create" in str(caught.value)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_a_read_only_file_store_stops_startup(test_config, tmp_path):
    store = tmp_path / "store"
    store.mkdir(mode=0o555)
    with pytest.raises(ConfigError, match="DEEPINTSHIELD_FILE_STORE: .*Permission denied"):
        create_app({**test_config, "FILE_STORE": str(store)})


def test_a_local_store_is_created_and_left_clean(test_config, tmp_path):
    create_app({**test_config, "FILE_STORE": str(tmp_path / "new" / "store")})
    assert (tmp_path / "new" / "store").is_dir() and list((tmp_path / "new" / "store").iterdir()) == []


def test_an_s3_store_is_not_contacted_at_startup(test_config, monkeypatch):
    import boto3

    monkeypatch.setattr(boto3, "client", lambda *a, **k: pytest.fail("S3 contacted at startup"))
    create_app({**test_config, "FILE_STORE": "s3://gateway-store/files"})


@pytest.mark.parametrize("settings, line", [
    ({"AWS_REGIONS": ["eu-west-1"], "BEDROCK_REGION": "us-east-1"},
     "DEEPINTSHIELD_BEDROCK_REGION: the default region 'us-east-1' is not in DEEPINTSHIELD_AWS_REGIONS"),
    ({"BEDROCK_ALLOWED_BUCKETS": ["team-a"], "BEDROCK_DEFAULT_BUCKET": "team-b"},
     "DEEPINTSHIELD_BEDROCK_BUCKET: 'team-b' is not in DEEPINTSHIELD_BEDROCK_ALLOWED_BUCKETS"),
    ({"BEDROCK_DEFAULT_PREFIX": "batch+input"}, "DEEPINTSHIELD_BEDROCK_PREFIX: 'batch+input' cannot be part of"),
])
def test_defaults_outside_what_is_allowed_stop_startup(test_config, settings, line):
    with pytest.raises(ConfigError) as caught:
        create_app({**test_config, **settings})
    assert str(caught.value).startswith(line)


def test_unknown_variables_are_warned_about_once_with_the_closest_name(monkeypatch, caplog):
    monkeypatch.setattr(config, "_warned", set())
    caplog.set_level(logging.WARNING, "deepintshield")
    environ = {"DEEPINTSHIELD_MAX_UPLOAD_BYTE": "sk-looks-like-a-key", "DEEPINTSHIELD_FROBNICATE": "1",
               "DEEPINTSHIELD_MAX_UPLOAD_BYTES": "1MB", "UNRELATED": "x"}
    config.from_environment(environ)
    config.from_environment(environ)
    messages = [record.getMessage() for record in caplog.records]
    assert messages == [
        "DEEPINTSHIELD_FROBNICATE is not a DeepintShield setting and is ignored (see the README's configuration table)",
        "DEEPINTSHIELD_MAX_UPLOAD_BYTE is not a DeepintShield setting and is ignored; did you mean "
        "DEEPINTSHIELD_MAX_UPLOAD_BYTES?",
    ]
    assert "sk-looks-like-a-key" not in caplog.text


def test_every_setting_has_a_variable_a_meaning_and_a_shown_default():
    assert len(config.VARIABLES) == len(config.SETTINGS)
    for field in config.SETTINGS.values():
        assert field.data_key and field.metadata["meaning"]
    table = config.markdown_table().splitlines()
    assert len(table) == 2 + len(config.SETTINGS)


def test_the_readme_table_is_the_one_the_schema_generates():
    readme = (ROOT / "README.md").read_text()
    assert config.readme_with_table(readme) == readme, "run `python -m config --readme`"


def test_every_deepintshield_variable_the_code_and_readme_name_is_a_setting():
    examples = {"DEEPINTSHIELD_LOG_FORMAT", "DEEPINTSHIELD_MAX_UPLOAD_BYTE"}  # config.py's and the README's examples
    paths = [ROOT / "README.md", *(p for p in ROOT.rglob("*.py") if not {".venv", "tests"} & set(p.parts))]
    named = {name for path in paths for name in re.findall(r"DEEPINTSHIELD_[A-Z0-9_]*[A-Z0-9]", path.read_text())}
    assert named - examples - set(config.VARIABLES) - config.CLIENT_VARIABLES == set()


def test_config_imports_no_flask():
    """gunicorn's master loads the settings before any app: importing them costs no Flask (nor boto3)."""
    code = "import sys, config; print(sorted({m.split('.')[0] for m in sys.modules} & {'flask', 'boto3', 'botocore'}))"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert result.stdout.strip() == "[]", result.stderr


# gunicorn: the master checks the settings before any worker starts


def _gunicorn(env: dict, wait: float = 30) -> subprocess.CompletedProcess:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = server_env(DEEPINTSHIELD_BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY="1", **env)
    return subprocess.run([sys.executable, "-m", "gunicorn", "wsgi:app"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=wait)


@pytest.mark.parametrize("variable, value, line", [
    ("DEEPINTSHIELD_MAX_UPLOAD_BYTES", "lots",
     "DEEPINTSHIELD_MAX_UPLOAD_BYTES: 'lots' is not a size; expected bytes or a number with a unit like 512MB"),
    ("DEEPINTSHIELD_FILE_STORE", "/dev/null/store",
     "DEEPINTSHIELD_FILE_STORE: '/dev/null/store' cannot be used (Not a directory); expected a directory this "
     "process can create, write and read, or s3://bucket/prefix"),
    ("DEEPINTSHIELD_BEDROCK_PREFIX", "a+b",  # a check that loads botocore (in the master's child)
     "DEEPINTSHIELD_BEDROCK_PREFIX: 'a+b' cannot be part of a Bedrock job's S3 URI (it does not match botocore's "
     "S3Uri pattern); expected letters, digits and -!_*'(). between single slashes, no + = , @, and room for the "
     "keys under it within 1024 characters"),
])
def test_gunicorn_master_exits_with_the_one_line(variable, value, line):
    result = _gunicorn({variable: value})
    assert result.returncode != 0
    assert result.stderr.strip() == line


def test_the_gunicorn_master_never_imports_ssl(tmp_path):
    """Its gevent workers patch `ssl` after they fork; imported in the master before (a startup check
    reading botocore's rules did), every TLS context a worker made recursed to a RecursionError."""
    code = ("import runpy, sys; runpy.run_path('gunicorn.conf.py'); "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'ssl', 'botocore', 'flask'}))")
    env = server_env(DEEPINTSHIELD_FILE_STORE=str(tmp_path), DEEPINTSHIELD_BEDROCK_BUCKET="my-batch-bucket",
                     DEEPINTSHIELD_BEDROCK_PREFIX="jobs/in")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]", result.stderr


def test_gunicorn_warns_once_about_an_unknown_variable(tmp_path):
    """The master warns; its workers inherit that it did (they fork from it), so two workers add nothing."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = server_env(DEEPINTSHIELD_BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY="2",
                     DEEPINTSHIELD_FILE_STORE=str(tmp_path), DEEPINTSHIELD_HEADER_TIMOUT="3")
    process = subprocess.Popen([sys.executable, "-m", "gunicorn", "wsgi:app"], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stderr), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 30
        while sum("passthrough mode" in line for line in lines) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)  # each worker logs its credential mode once its app exists
    finally:
        process.terminate()
        process.wait(timeout=20)
        reader.join(timeout=5)
    stderr = "".join(lines)
    assert sum("passthrough mode" in line for line in lines) == 2, stderr
    assert stderr.count("DEEPINTSHIELD_HEADER_TIMOUT is not a DeepintShield setting") == 1, stderr
    assert "did you mean DEEPINTSHIELD_HEADER_TIMEOUT?" in stderr


def test_the_kinds_kept_for_settings_to_come():
    from marshmallow import Schema

    from configfields import Choice, Flag

    class Coming(Schema):
        LOG_FORMAT = Choice("DEEPINTSHIELD_LOG_FORMAT", "text", "how log lines are written", choices=("text", "json"))
        METRICS = Flag("DEEPINTSHIELD_METRICS", True, "serve /metrics")

    assert Coming().load({"DEEPINTSHIELD_LOG_FORMAT": "JSON", "DEEPINTSHIELD_METRICS": "off"}) == {
        "LOG_FORMAT": "json", "METRICS": False}
    assert Coming().load({}) == {"LOG_FORMAT": "text", "METRICS": True}
    with pytest.raises(Exception, match="'xml' is not one of the choices; expected text, json"):
        Coming().load({"DEEPINTSHIELD_LOG_FORMAT": "xml"})
    with pytest.raises(Exception, match="'maybe' is not on or off"):
        Coming().load({"DEEPINTSHIELD_METRICS": "maybe"})


def test_the_app_imports_no_aws_queue_or_crypto_libraries(tmp_path):
    """Each web worker imports the app: boto3/botocore, huey/redis and cryptography (~25 MB of every
    worker's RSS, issue 16) are loaded by the Bedrock, S3 store and gateway-run code that uses them."""
    code = ("import sys, wsgi; print(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'boto3', 'botocore', 's3transfer', 'huey', 'redis', 'cryptography'}))")
    env = server_env(DEEPINTSHIELD_FILE_STORE=str(tmp_path), DEEPINTSHIELD_QUEUE=str(tmp_path / "queue.db"))
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]", result.stderr
