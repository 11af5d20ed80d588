"""The batch line types beyond chat for Gemini and Vertex AI (endpoints.md §2-§4): `/v1/responses`,
`/v1/completions` and `/v1/embeddings`. One path for both providers, their batch files and their
gateway-run (synchronous) lines.

Pure: dicts in, dicts out. No HTTP, no Flask, no config, no clock.

Generation lines (`GENERATE_ENDPOINTS`): a Responses or completions body is first rewritten as the
chat body it means (`chat_body`, table-driven), then converted by `gemini.generate_content_request`,
so every value check, refusal and mapping (reasoning effort -> thinkingConfig, JSON schema ->
responseMimeType/responseJsonSchema, tools, tool_choice...) is the chat path's. A reply is read by
`gemini.chat_completion` and reshaped by `openai_shapes` (`reply_body`).

Decisions (documented in the README paragraph of issue 14):
- Responses `metadata`, `store`, `user`, `safety_identifier`, `prompt_cache_key`, `service_tier`,
  `parallel_tool_calls`, `truncation`, `include`, `max_tool_calls`, `text.verbosity` are dropped: they
  change nothing Gemini generates (the chat path drops `metadata` too). Results do not echo the request
  (batch results do not carry it): `metadata`, `instructions`, `tools`... are null or their defaults.
- Refused (400): `previous_response_id`, `conversation`, `prompt` (the gateway stores no responses),
  `background: true`, `reasoning.summary`, `top_logprobs`, built-in tools, `allowed_tools` choices,
  inputs by `file_id`, item types other than messages, function calls and their outputs
  (`reasoning` items are dropped); completions `echo`, `suffix`, `best_of`, `logit_bias`, `logprobs`,
  token prompts and more than one prompt.

Embedding lines: each string of `input` is one Gemini EmbedContentRequest (`embed_requests`); a batch
file line with N inputs becomes N `{key, request}` lines keyed `<custom_id>#<i>/<N>`, which
`group_embeddings` gathers back into one OpenAI line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator

from errors import BadRequest
from translators import batch_output, gemini
from translators import openai_shapes as shapes

CHAT_COMPLETIONS = shapes.CHAT_COMPLETIONS
RESPONSES = shapes.RESPONSES
COMPLETIONS = shapes.COMPLETIONS
EMBEDDINGS = shapes.EMBEDDINGS
GENERATE_ENDPOINTS = (CHAT_COMPLETIONS, RESPONSES, COMPLETIONS)
ENDPOINTS = (*GENERATE_ENDPOINTS, EMBEDDINGS)


def _bad(message: str, param: str) -> BadRequest:
    return BadRequest(message, param=param, code="unsupported_for_gemini")


# /v1/responses -> chat body (endpoints.md §2.1-§2.4)

# Responses key -> chat key, copied as they are (the chat path checks the values).
RESPONSES_COPIED = {"max_output_tokens": "max_completion_tokens", "temperature": "temperature", "top_p": "top_p"}
# Dropped: no effect on what Gemini generates (see the module docstring).
RESPONSES_DROPPED = ("model", "metadata", "store", "user", "safety_identifier", "prompt_cache_key",
                     "service_tier", "parallel_tool_calls", "truncation", "include", "max_tool_calls", "stream",
                     "stream_options", "prompt_cache_retention")
# Refused with the reason.
RESPONSES_REFUSED = {
    "previous_response_id": "the gateway stores no responses; send the whole conversation in input",
    "conversation": "the gateway stores no conversations; send the whole conversation in input",
    "prompt": "stored prompts are OpenAI's; send the instructions and input instead",
    "top_logprobs": "log probabilities are not returned in Responses results for Gemini",
}
# Responses content part type -> how it becomes a chat content part.
PART_TYPES = {
    "input_text": lambda part, where: {"type": "text", "text": part.get("text", "")},
    "output_text": lambda part, where: {"type": "text", "text": part.get("text", "")},
    "refusal": lambda part, where: {"type": "text", "text": part.get("refusal", "")},
    "input_image": lambda part, where: {"type": "image_url", "image_url": {"url": _no_file_id(part, "image_url",
                                                                                               where)}},
    "input_file": lambda part, where: {"type": "file", "file": {"file_data": _no_file_id(part, "file_data",
                                                                                          where)}},
}
MESSAGE_ROLES = ("user", "assistant", "system", "developer")
DROPPED_ITEMS = ("reasoning",)  # OpenAI's own reasoning (encrypted): nothing Gemini can read


def _no_file_id(part: dict, field: str, where: str) -> object:
    """The inline data of an image or file part; a part by `file_id` or `file_url` is refused."""
    if part.get("file_id") or part.get("file_url"):
        raise _bad(f"{where}: parts given by file_id or file_url are not supported for Gemini; send the data "
                   "inline (a data: URL).", where)
    return part.get(field)


def _chat_parts(content: object, where: str) -> object:
    """A message item's content (a string or Responses parts) as chat content."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise _bad(f"{where} must be a string or a list of parts.", where)
    parts = []
    for i, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind not in PART_TYPES:
            raise _bad(f"{where}[{i}]: content part type {kind!r} is not supported.", f"{where}[{i}]")
        parts.append(PART_TYPES[kind](part, f"{where}[{i}]"))
    return parts


def _call_output(output: object, where: str) -> str:
    """A function_call_output's `output`: a string, or (openai 3.x) input_text parts joined."""
    if isinstance(output, str):
        return output
    if isinstance(output, list) and all(isinstance(p, dict) and p.get("type") == "input_text" for p in output):
        return "".join(p.get("text", "") for p in output)
    raise _bad(f"{where}.output must be a string or a list of input_text parts.", f"{where}.output")


def _messages(body: dict) -> list[dict]:
    """`instructions` and `input` as chat messages; consecutive function calls share one assistant message."""
    messages: list[dict] = []
    if body.get("instructions") is not None:
        if not isinstance(body["instructions"], str):
            raise _bad("body.instructions must be a string.", "body.instructions")
        messages.append({"role": "system", "content": body["instructions"]})
    items = body.get("input")
    if isinstance(items, str):
        return [*messages, {"role": "user", "content": items}]
    if not isinstance(items, list) or not items:
        raise BadRequest("body.input must be a string or a non-empty list of items.", param="body.input")
    for i, item in enumerate(items):
        where = f"body.input[{i}]"
        if not isinstance(item, dict):
            raise _bad(f"{where} must be an object.", where)
        kind = item.get("type", "message")
        if kind == "message":
            if item.get("role") not in MESSAGE_ROLES:
                raise _bad(f"{where}.role {item.get('role')!r} is not supported.", f"{where}.role")
            messages.append({"role": item["role"], "content": _chat_parts(item.get("content"), f"{where}.content")})
        elif kind == "function_call":
            call = {"id": item.get("call_id"), "type": "function",
                    "function": {"name": item.get("name"), "arguments": item.get("arguments")}}
            last = messages[-1] if messages else None
            if last is not None and last["role"] == "assistant" and last.get("tool_calls"):
                last["tool_calls"].append(call)
            else:
                messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif kind == "function_call_output":
            messages.append({"role": "tool", "tool_call_id": item.get("call_id"),
                             "content": _call_output(item.get("output"), where)})
        elif kind not in DROPPED_ITEMS:
            raise _bad(f"{where}: input items of type {kind!r} are not supported for Gemini.", f"{where}.type")
    return messages


def _tools(tools: object) -> list[dict]:
    """Flat Responses function tools as chat's nested ones; built-in tools are refused."""
    if not isinstance(tools, list):
        raise _bad("body.tools must be a list.", "body.tools")
    nested = []
    for i, tool in enumerate(tools):
        if not isinstance(tool, dict) or tool.get("type") != "function":
            kind = tool.get("type") if isinstance(tool, dict) else None
            raise _bad(f"body.tools[{i}]: only function tools are supported for Gemini, not {kind!r}.",
                       f"body.tools[{i}]")
        function = {key: tool[key] for key in ("name", "description", "parameters") if tool.get(key) is not None}
        nested.append({"type": "function", "function": function})
    return nested


def _tool_choice(choice: object) -> object:
    """A Responses tool_choice as chat's: the strings as they are, a named function nested."""
    if isinstance(choice, dict) and choice.get("type") == "function":
        return {"type": "function", "function": {"name": choice.get("name")}}
    if isinstance(choice, dict):
        raise _bad(f"body.tool_choice of type {choice.get('type')!r} is not supported for Gemini.",
                   "body.tool_choice")
    return choice


def _response_format(text: object) -> dict | None:
    """`text.format` as chat's `response_format` (json_schema is flat in Responses, nested in chat)."""
    if not isinstance(text, dict):
        raise _bad("body.text must be an object.", "body.text")
    fmt = text.get("format")
    if fmt is None:
        return None
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        schema = {key: fmt[key] for key in ("name", "schema", "strict", "description") if key in fmt}
        return {"type": "json_schema", "json_schema": schema}
    return fmt


def _reasoning(reasoning: object) -> str | None:
    """`reasoning.effort` (chat's `reasoning_effort`); a summary is refused (no reasoning items are returned)."""
    if not isinstance(reasoning, dict):
        raise _bad("body.reasoning must be an object.", "body.reasoning")
    if reasoning.get("summary") is not None or reasoning.get("generate_summary") is not None:
        raise _bad("body.reasoning.summary is not supported for Gemini (thoughts are not returned).",
                   "body.reasoning.summary")
    return reasoning.get("effort")


def responses_chat_body(body: dict) -> dict:
    """A Responses create body as the chat body it means (endpoints.md §2.10)."""
    for key, reason in RESPONSES_REFUSED.items():
        if body.get(key) is not None:
            raise _bad(f"body.{key} is not supported: {reason}.", f"body.{key}")
    if body.get("background"):
        raise _bad("body.background is not supported in batches.", "body.background")
    handled = {"input", "instructions", "tools", "tool_choice", "text", "reasoning", "background",
               *RESPONSES_COPIED, *RESPONSES_DROPPED, *RESPONSES_REFUSED}
    unknown = sorted(set(body) - handled)
    if unknown:
        raise _bad(f"body.{unknown[0]} has no Gemini equivalent.", f"body.{unknown[0]}")
    chat: dict = {"messages": _messages(body)}
    for key, target in RESPONSES_COPIED.items():
        if body.get(key) is not None:
            chat[target] = body[key]
    if body.get("tools"):
        chat["tools"] = _tools(body["tools"])
    if body.get("tool_choice") is not None:
        chat["tool_choice"] = _tool_choice(body["tool_choice"])
    if body.get("text") is not None and (fmt := _response_format(body["text"])) is not None:
        chat["response_format"] = fmt
    if body.get("reasoning") is not None and (effort := _reasoning(body["reasoning"])) is not None:
        chat["reasoning_effort"] = effort
    return chat


# /v1/completions -> chat body (endpoints.md §4.3)

COMPLETIONS_COPIED = ("max_tokens", "temperature", "top_p", "n", "stop", "presence_penalty", "frequency_penalty",
                      "seed")
COMPLETIONS_DROPPED = ("model", "user", "stream", "stream_options")
# Refused unless absent or at their no-op value: token-level controls a chat model does not have.
COMPLETIONS_REFUSED = {"echo": False, "suffix": None, "best_of": 1, "logit_bias": None, "logprobs": None}


def _prompt(prompt: object) -> str:
    """The one prompt of a completions line: a string, or a list holding one string."""
    if isinstance(prompt, list) and len(prompt) == 1:
        prompt = prompt[0]
    elif isinstance(prompt, list) and prompt and all(isinstance(p, str) for p in prompt):
        raise _bad(f"body.prompt holds {len(prompt)} prompts; Gemini batch lines take one (send one line per "
                   "prompt).", "body.prompt")
    if not isinstance(prompt, str):
        raise _bad("body.prompt must be a string (token prompts are not supported for Gemini).", "body.prompt")
    return prompt


def completions_chat_body(body: dict) -> dict:
    """A legacy completions body as one user message (a chat model answers it; no true continuation)."""
    for key, neutral in COMPLETIONS_REFUSED.items():
        if body.get(key) not in (None, neutral):
            raise _bad(f"body.{key} is not supported for Gemini.", f"body.{key}")
    unknown = sorted(set(body) - {"prompt", *COMPLETIONS_COPIED, *COMPLETIONS_DROPPED, *COMPLETIONS_REFUSED})
    if unknown:
        raise _bad(f"body.{unknown[0]} has no Gemini equivalent.", f"body.{unknown[0]}")
    chat: dict = {"messages": [{"role": "user", "content": _prompt(body.get("prompt"))}]}
    chat.update({key: body[key] for key in COMPLETIONS_COPIED if body.get(key) is not None})
    return chat


# One table for the generation lines: the url -> its chat body, and the chat.completion -> its reply.
CHAT_BODIES: dict[str, Callable[[dict], dict]] = {
    CHAT_COMPLETIONS: lambda body: body,
    RESPONSES: responses_chat_body,
    COMPLETIONS: completions_chat_body,
}
REPLY_SHAPES: dict[str, Callable[[dict], dict]] = {
    CHAT_COMPLETIONS: lambda chat: chat,
    RESPONSES: shapes.response_from_chat,
    COMPLETIONS: shapes.completion_from_chat,
}


def generate_request(url: str, body: dict) -> dict:
    """The GenerateContentRequest of a generation line of endpoint `url`."""
    if url not in CHAT_BODIES:
        raise BadRequest(f"{url} lines cannot run as Gemini generateContent requests.", param="url",
                         code="unsupported_endpoint")
    return gemini.generate_content_request(CHAT_BODIES[url](body))


def reply_body(url: str, response: dict, *, response_id: str, model: str, created: int) -> dict:
    """A GenerateContentResponse as the OpenAI body of endpoint `url` (chat.completion, response,
    text_completion)."""
    chat = gemini.chat_completion(response, response_id=response_id, model=model, created=created)
    return REPLY_SHAPES[url](chat)

def output_line(line: dict, number: int, *, url: str, batch: str, model: str, created: int) -> dict:
    """One Gemini generation result (`gemini.output_line`) with its success body in the shape of `url`."""
    converted = gemini.output_line(line, number, batch=batch, model=model, created=created)
    if url != CHAT_COMPLETIONS and batch_output.is_success(converted):
        converted["response"]["body"] = REPLY_SHAPES[url](converted["response"]["body"])
    return converted


# Which endpoint a Gemini batch runs: its display name says (`display_name`), else its type.

DISPLAY_PREFIX = "deepintshield-"
DISPLAY_TAGS = {RESPONSES: "responses", COMPLETIONS: "completions", EMBEDDINGS: "embeddings"}
EMBED_BATCH_TYPE = "EmbedContentBatch"  # the end of an embeddings batch's metadata `@type`


def display_name(url: str, rest: str) -> str:
    """The display name of a new batch: chat batches keep `deepintshield-<rest>`, others add their tag."""
    tag = DISPLAY_TAGS.get(url)
    return f"{DISPLAY_PREFIX}{tag}-{rest}" if tag else f"{DISPLAY_PREFIX}{rest}"


def batch_endpoint(operation: dict) -> str:
    """The OpenAI endpoint of a Gemini batch Operation: the tag of its display name, else embeddings for
    an embeddings batch (`@type`), else chat (batches made before the tags, or outside the gateway)."""
    meta = operation.get("metadata") or {}
    name = meta.get("displayName")
    if isinstance(name, str) and name.startswith(DISPLAY_PREFIX):
        tag = name[len(DISPLAY_PREFIX):].partition("-")[0]
        for url, known in DISPLAY_TAGS.items():
            if tag == known:
                return url
    if str(meta.get("@type", "")).endswith(EMBED_BATCH_TYPE):
        return EMBEDDINGS
    return CHAT_COMPLETIONS


# /v1/embeddings (endpoints.md §3.2, §3.5)

EMBED_DROPPED = ("model", "user")
# Only floats: a base64 `embedding` is not valid as openai.types.CreateEmbeddingResponse (List[float]; the
# SDK decodes base64 itself before validating), so results could not be read by the SDK's own type.
ENCODINGS = ("float",)
_EMBED_KEY = re.compile(r"^(.*)#(\d+)/(\d+)$", re.DOTALL)


def embed_texts(body: dict) -> list[str]:
    """The texts of an embeddings body (a string or a list of strings), its other fields checked."""
    unknown = sorted(set(body) - {"input", "dimensions", "encoding_format", *EMBED_DROPPED})
    if unknown:
        raise _bad(f"body.{unknown[0]} has no Gemini equivalent.", f"body.{unknown[0]}")
    if body.get("encoding_format") not in (None, *ENCODINGS):
        raise _bad("body.encoding_format must be float (base64 is not supported for Gemini).", "body.encoding_format")
    dimensions = body.get("dimensions")
    if dimensions is not None and (isinstance(dimensions, bool) or not isinstance(dimensions, int) or dimensions < 1):
        raise _bad("body.dimensions must be a positive integer.", "body.dimensions")
    texts = body.get("input")
    if isinstance(texts, str):
        texts = [texts]
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
        raise _bad("body.input must be a string or a non-empty list of strings (token inputs are not supported "
                   "for Gemini).", "body.input")
    if not all(texts):
        raise _bad("body.input must not hold empty strings.", "body.input")
    return texts



def embed_requests(body: dict) -> list[dict]:
    """One EmbedContentRequest (no model: the batch or the URL has it) per text of the line."""
    texts = embed_texts(body)
    extra = {"outputDimensionality": body["dimensions"]} if body.get("dimensions") is not None else {}
    return [{"content": {"parts": [{"text": text}]}, **extra} for text in texts]


def embed_key(custom_id: str, index: int, count: int) -> str:
    return f"{custom_id}#{index}/{count}"


def split_embed_key(key: str) -> tuple[str, int, int]:
    """(custom_id, index, count) of a key `embed_key` made; any other key is one input."""
    match = _EMBED_KEY.match(key)
    if not match:
        return key, 0, 1
    return match[1], int(match[2]), int(match[3])


def embed_lines(obj: dict) -> list[dict]:
    """One OpenAI embeddings line (already checked) as Gemini `{key, request}` file lines, one per text."""
    requests = embed_requests(obj["body"])
    return [{"key": embed_key(obj["custom_id"], i, len(requests)), "request": request}
            for i, request in enumerate(requests)]


def batch_lines(obj: dict) -> list[dict]:
    """One OpenAI batch line (already checked) as the Gemini file lines it becomes."""
    if obj["url"] == EMBEDDINGS:
        return embed_lines(obj)
    return [{"key": obj["custom_id"], "request": generate_request(obj["url"], obj["body"])}]


def inline_request(obj: dict) -> dict:
    """One OpenAI generation line (already checked) as a Gemini inline request."""
    return {"request": generate_request(obj["url"], obj["body"]), "metadata": {"key": obj["custom_id"]}}


def _vector(response: dict) -> list[float]:
    """The values of one embedding result: `embedding.values` (EmbedContentResponse), or the first of
    `embeddings` (batchEmbedContents, Vertex's embedContent)."""
    embedding = response["embedding"] if "embedding" in response else response["embeddings"][0]
    return shapes.embedding_vector(embedding["values"])


def _tokens(response: dict) -> int:
    count = response.get("tokenCount", (response.get("usageMetadata") or {}).get("promptTokenCount", 0))
    return int(count or 0)


def embedding_body(responses: list[dict], *, model: str) -> dict:
    """The embedding results of one line's texts (in order) as a CreateEmbeddingResponse. Gemini reports
    tokens per text only sometimes (`tokenCount`): usage is their sum, 0 when none is reported."""
    vectors = [_vector(response) for response in responses]
    return shapes.embedding_list(vectors, model=model, prompt_tokens=sum(_tokens(r) for r in responses))


def batch_embed_body(reply: dict, *, count: int, model: str) -> dict:
    """A `:batchEmbedContents` reply (`{embeddings: [{values}], usageMetadata?}`, in request order) for the
    `count` inputs of one line, as a CreateEmbeddingResponse."""
    embeddings = reply["embeddings"]
    if not isinstance(embeddings, list) or len(embeddings) != count:
        raise ValueError(f"{count} inputs were sent, but the reply holds a different number of embeddings")
    body = embedding_body([{"embedding": e} for e in embeddings], model=model)
    tokens = int((reply.get("usageMetadata") or {}).get("promptTokenCount") or 0)
    body["usage"] = {"prompt_tokens": tokens, "total_tokens": tokens}
    return body


def group_embeddings(records: Iterable[tuple[int, bytes | dict]]) -> Iterator[tuple[int, bytes | dict]]:
    """Embedding results (raw results-file lines or inline results) gathered per OpenAI line: each
    `(number, {"key": custom_id, "parts": [result, ...], "count": N})` once its N results
    are in (or at the end, short). Results come in input order, so one group is held at a time; a
    line that is not JSON or has no key is passed on as it is (it becomes an unconvertible line)."""
    open_groups: dict[str, tuple[int, dict]] = {}
    for number, record in records:
        try:
            line = json.loads(record) if isinstance(record, bytes) else record
            key = line["key"] if "key" in line else line["metadata"]["key"]
        except (ValueError, KeyError, TypeError):
            yield number, record
            continue
        if not isinstance(key, str):
            yield number, record
            continue
        custom_id, index, count = split_embed_key(key)
        first, group = open_groups.setdefault(custom_id, (number, {"key": custom_id, "parts": {}, "count": count}))
        group["parts"][index] = line
        if len(group["parts"]) >= count:
            del open_groups[custom_id]
            yield first, group
    yield from open_groups.values()


def embedding_line(group: dict, number: int, *, batch: str, model: str, created: int,
                   provider: str = "Gemini") -> dict:
    """One gathered group (`group_embeddings`) as an OpenAI output line; a text that failed (or is missing)
    makes the whole line an error line, as OpenAI fails a request as a whole."""
    if "parts" not in group:
        raise KeyError("key")
    custom_id = group["key"]
    request_id = f"{batch.rpartition('/')[2]}-{number}"
    parts = group["parts"]
    for index in range(group["count"]):
        line = parts.get(index)
        if line is None:
            return batch_output.http_error_line(
                custom_id, request_id, 502, f"{provider} returned no result for input {index} of this line.",
                type="server_error", code="missing_result")
        if line.get("response") is None:
            return gemini.output_line({**line, "key": custom_id}, number, batch=batch, model=model, created=created)
    responses = [parts[index]["response"] for index in range(group["count"])]
    body = embedding_body(responses, model=model)
    return batch_output.success_line(custom_id, request_id, body)


def identify_group(group: dict | None, number: int, *, batch: str) -> tuple[str, str]:
    """(custom_id, request id) of a group `embedding_line` could not convert."""
    if not isinstance(group, dict) or "parts" not in group:
        return gemini.identify(group, number, batch=batch)
    return group["key"], f"{batch.rpartition('/')[2]}-{number}"
