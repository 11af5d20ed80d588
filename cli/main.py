"""The `deepintshield` commands: submit, status, watch, list, download, cancel, estimate, cost.

Every call goes through the `openai` SDK (cli/client.py). What a script needs goes to stdout (a
batch ID, a table, `--json`); progress bars and notes go to stderr. An error from the gateway is one
line, `Error: <status> <code>: <message>`, exit status 1; `watch` (and `submit --watch`) also exit 1
when the batch ends other than `completed`.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import openai
from openai import OpenAI

from cli import client as gateway
from cli import output
from cli.transfer import PART_SIZE, download, upload
from cli.watch import follow

WINDOWS = ("24h",)
_FILE_ID = "file-"


class Settings:
    """The global options; the SDK client is made on first use, so `--help` needs no key."""

    def __init__(self, base_url: str, api_key: str | None, strict: bool) -> None:
        self.base_url, self.api_key, self.strict = base_url, api_key, strict

    @functools.cached_property
    def client(self) -> OpenAI:
        return gateway.connect(self.base_url, self.api_key, strict=self.strict)


class _Group(click.Group):
    """Turns the SDK's errors into one line on stderr and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except openai.APIStatusError as error:
            provider = ctx.meta.get("provider")
            raise click.ClickException(gateway.describe(error, provider)) from error
        except openai.APIConnectionError as error:
            url = ctx.obj.base_url if isinstance(ctx.obj, Settings) else "?"
            raise click.ClickException(f"Cannot reach the gateway at {url}: {error}") from error


def provider_option(*, required: bool = False, help: str | None = None) -> Callable[..., Any]:
    """`--provider`: which provider the call is for (kept in the context so errors can hint at it)."""

    def remember(ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
        ctx.meta["provider"] = value
        return value

    return click.option("--provider", "-p", required=required, callback=remember, metavar="PROVIDER",
                        help=help or "The provider (openai, anthropic, gemini, ...). An ID the gateway encoded "
                                     "names its own; OpenAI's IDs and the gateway's default need none.")


def json_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON (for scripts).")(func)


def part_size_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--part-size", type=click.IntRange(1, PART_SIZE), default=PART_SIZE, show_default=True,
                        help="Files larger than this go up through the Uploads API in parts of this size "
                             "(bytes; 64 MiB is the API's largest part).")(func)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--base-url", envvar="DEEPINTSHIELD_URL", default=gateway.DEFAULT_URL, show_default=True,
              help="The gateway's OpenAI base URL (env DEEPINTSHIELD_URL).")
@click.option("--api-key", envvar="OPENAI_API_KEY", help="The key sent to the gateway (env OPENAI_API_KEY).")
@click.option("--strict", is_flag=True, hidden=True, help="Validate every reply strictly (the SDK's strict mode).")
@click.pass_context
def cli(ctx: click.Context, base_url: str, api_key: str | None, strict: bool) -> None:
    """DeepintShield batches from the command line, through the gateway's OpenAI API."""
    ctx.obj = Settings(base_url, api_key, strict)


pass_settings = click.make_pass_decorator(Settings)


def first_url(path: Path) -> str:
    """The `url` of the first request line of a JSONL batch file (the batch's endpoint)."""
    with path.open("rb") as file:
        for raw in file:
            if raw.strip():
                try:
                    url = json.loads(raw).get("url")
                except (ValueError, AttributeError):
                    url = None
                if not isinstance(url, str) or not url:
                    raise click.UsageError(f"{path}: the first line has no \"url\"; pass --endpoint.")
                return url
    raise click.UsageError(f"{path} has no request lines.")


def first_stored_url(client: OpenAI, file_id: str, provider: str | None) -> str:
    """The `url` of the first line of an uploaded file: its content read up to the first line only."""
    with client.files.with_streaming_response.content(file_id, extra_query=gateway.named(provider)) as response:
        for raw in response.iter_lines():
            if raw.strip():
                try:
                    url = json.loads(raw).get("url")
                except (ValueError, AttributeError):
                    url = None
                if isinstance(url, str) and url:
                    return url
                break
    raise click.UsageError(f"Cannot read the endpoint from {file_id}'s first line; pass --endpoint.")


def _pairs(pairs: tuple[str, ...], option: str) -> dict[str, str]:
    """`KEY=VALUE` pairs as a dict."""
    found: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint=option)
        found[key] = value
    return found


def _options(pairs: tuple[str, ...], option: str = "--option") -> dict[str, Any]:
    """`KEY=VALUE` pairs as request fields; a value that parses as JSON is sent as that JSON."""
    fields: dict[str, Any] = {}
    for key, value in _pairs(pairs, option).items():
        try:
            fields[key] = json.loads(value)
        except ValueError:
            fields[key] = value
    return fields


OPTION_HELP = "Another gateway field (JSON values parsed), e.g. execution=gateway or role_arn=arn:... Repeatable."


def _finish(batch: Any) -> None:
    """After watching: a one-line summary on stderr, exit 1 unless the batch completed."""
    click.echo(f"{batch.id} {batch.status} {output.progress(batch)}".rstrip(), err=True)
    if batch.status != "completed":
        raise SystemExit(1)


@cli.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@provider_option(required=True)
@click.option("--model", "-m", help="The model, for providers that take it at create (Gemini, Bedrock, Vertex AI).")
@click.option("--endpoint", "-e", help="The batch endpoint [default: the first line's url].")
@click.option("--window", type=click.Choice(WINDOWS), default="24h", show_default=True,
              help="The completion window.")
@click.option("--option", "options", multiple=True, metavar="KEY=VALUE", help=OPTION_HELP)
@click.option("--upload-option", "upload_options", multiple=True, metavar="KEY=VALUE",
              help="A gateway field for the upload, e.g. storage_config='{\"s3\": {\"bucket\": \"b\"}}'. Repeatable.")
@click.option("--watch", "-w", is_flag=True, help="Follow the batch until it ends.")
@click.option("--interval", type=click.FloatRange(min=0), default=10.0, show_default=True,
              help="Seconds between polls with --watch.")
@part_size_option
@pass_settings
def submit(settings: Settings, file: Path, provider: str, model: str | None, endpoint: str | None, window: str,
           options: tuple[str, ...], upload_options: tuple[str, ...], watch: bool, interval: float,
           part_size: int) -> None:
    """Upload FILE (JSONL) and create a batch of it; prints the batch ID."""
    endpoint = endpoint or first_url(file)
    fields = {**gateway.named(provider), **({"model": model} if model else {}), **_options(options)}
    at_upload = _options(upload_options, "--upload-option")
    uploaded = upload(settings.client, file, provider, part_size=part_size, fields=at_upload)
    click.echo(f"Uploaded {uploaded.id} ({uploaded.bytes} bytes)", err=True)
    batch = settings.client.batches.create(input_file_id=uploaded.id, endpoint=endpoint,  # type: ignore[arg-type]
                                           completion_window=window, extra_body=fields)  # type: ignore[arg-type]
    click.echo(batch.id)
    if watch:
        _finish(follow(settings.client, batch, provider, interval))


@cli.command()
@click.argument("batch_id")
@provider_option()
@json_option
@pass_settings
def status(settings: Settings, batch_id: str, provider: str | None, as_json: bool) -> None:
    """Show a batch: status, counts, files, times, usage."""
    batch = settings.client.batches.retrieve(batch_id, extra_query=gateway.named(provider))
    if as_json:
        output.as_json(batch)
    else:
        output.table(output.batch_rows(batch))


@cli.command()
@click.argument("batch_id")
@provider_option()
@click.option("--interval", type=click.FloatRange(min=0), default=10.0, show_default=True,
              help="Seconds between polls.")
@pass_settings
def watch(settings: Settings, batch_id: str, provider: str | None, interval: float) -> None:
    """Follow a batch until it ends (exit status 1 unless it completed)."""
    batch = settings.client.batches.retrieve(batch_id, extra_query=gateway.named(provider))
    _finish(follow(settings.client, batch, provider, interval))


@cli.command(name="list")
@provider_option(help="The provider whose batches to list, or \"all\" for every provider the gateway uses.")
@click.option("--limit", "-n", type=click.IntRange(1, 100), default=20, show_default=True)
@click.option("--after", metavar="ID", help="List from after this batch (the last ID of the page before).")
@click.option("--key", "keys", multiple=True, metavar="PROVIDER=KEY",
              help="With --provider all in passthrough mode: a provider's own key (sent as "
                   "X-DeepintShield-Key-<provider>). Repeatable.")
@json_option
@pass_settings
def list_(settings: Settings, provider: str | None, limit: int, after: str | None, keys: tuple[str, ...],
          as_json: bool) -> None:
    """List batches, newest first, a page at a time."""
    headers = {f"X-DeepintShield-Key-{name}": key for name, key in _pairs(keys, "--key").items()}
    page = gateway.list_batches(settings.client, provider, limit, after, headers)
    failed = getattr(page, "provider_errors", None)  # only a provider=all list has it
    if as_json:
        listed = {"object": "list", "data": [b.model_dump(mode="json") for b in page.data],
                  "has_more": page.has_more}
        output.as_json({**listed, **({"provider_errors": failed} if failed is not None else {})})
        return
    one = None if provider in (None, gateway.ALL_PROVIDERS) else provider
    output.table([output.batch_line(b, one) for b in page.data], output.LIST_HEADERS)
    for line in output.provider_errors(failed or []):  # the rest of the list still stands
        click.echo(f"warning: {line}", err=True)
    if page.has_more:
        click.echo(f"(more: --after {page.data[-1].id})", err=True)


@cli.command(name="download")
@click.argument("resource_id", metavar="ID")
@provider_option()
@click.option("--output", "-o", "target", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the output file [default: ID.output.jsonl]; the error file goes next to "
                   "it as NAME.errors.jsonl. For a file ID: the file [default: ID.jsonl].")
@pass_settings
def download_(settings: Settings, resource_id: str, provider: str | None, target: Path | None) -> None:
    """Download a batch's output and error files (or one file, given a file ID)."""
    client = settings.client
    if resource_id.startswith(_FILE_ID):
        target = target or Path(f"{resource_id}.jsonl")
        written = download(client, resource_id, target, provider)
        click.echo(f"{target}\t{written}")
        return
    batch = client.batches.retrieve(resource_id, extra_query=gateway.named(provider))
    if not (batch.output_file_id or batch.error_file_id):
        raise click.ClickException(f"Batch {batch.id} is {batch.status} and has no output or error file yet.")
    target = target or Path(f"{batch.id}.output.jsonl")
    stem = target.name.removesuffix(".jsonl").removesuffix(".output")
    errors = target.with_name(f"{stem}.errors.jsonl")
    for file_id, path in ((batch.output_file_id, target), (batch.error_file_id, errors)):
        if file_id:
            written = download(client, file_id, path, provider)
            click.echo(f"{path}\t{written}")


@cli.command()
@click.argument("batch_id")
@provider_option()
@pass_settings
def cancel(settings: Settings, batch_id: str, provider: str | None) -> None:
    """Cancel a batch (it goes to cancelling, then cancelled)."""
    batch = settings.client.batches.cancel(batch_id, extra_body=gateway.named(provider))
    click.echo(f"{batch.id} {batch.status}")


@cli.command()
@click.argument("source", metavar="FILE|FILE_ID")
@provider_option(required=True)
@click.option("--model", "-m", help="The model to price every line at [default: each line's body.model].")
@click.option("--endpoint", "-e", help="The batch endpoint [default: the first line's url].")
@click.option("--option", "options", multiple=True, metavar="KEY=VALUE", help=OPTION_HELP)
@json_option
@part_size_option
@pass_settings
def estimate(settings: Settings, source: str, provider: str, model: str | None, endpoint: str | None,
             options: tuple[str, ...], as_json: bool, part_size: int) -> None:
    """Estimate what a batch of FILE would cost (uploads it first), or of an uploaded file's ID."""
    client, path = settings.client, Path(source)
    if path.is_file():
        endpoint = endpoint or first_url(path)
        gateway.check_estimate_served(client, provider)  # before uploading anything
        file_id = upload(client, path, provider, part_size=part_size).id
        click.echo(f"Uploaded {file_id}", err=True)
    elif source.startswith(_FILE_ID):
        file_id = source
        endpoint = endpoint or first_stored_url(client, file_id, provider)
    else:
        raise click.BadParameter(f"{source!r} is neither a file nor a file ID.", param_hint="FILE|FILE_ID")
    body = {**gateway.named(provider), "input_file_id": file_id, "endpoint": endpoint,
            **({"model": model} if model else {}), **_options(options)}
    _show(gateway.estimate(client, body), as_json)


@cli.command()
@click.argument("batch_id")
@provider_option()
@json_option
@pass_settings
def cost(settings: Settings, batch_id: str, provider: str | None, as_json: bool) -> None:
    """Show what a batch used and what it cost."""
    _show(gateway.batch_cost(settings.client, batch_id, provider), as_json)


def _show(value: Any, as_json: bool) -> None:
    if as_json:
        output.as_json(value)
    else:
        output.table(output.flatten(value))


def main() -> None:
    """The console entry point."""
    cli(prog_name="deepintshield")
