"""OpenAI Responses and Completions bodies as chat-completions bodies; the one text of an embeddings body.

Pure: dicts in, dicts out. A provider whose batch path already translates chat bodies (Bedrock's Claude
body and Converse request) takes the other endpoints through it, so every rule (roles, tool calls,
images, unsupported fields, sampling) lives in one place (endpoints.md §2.10, §4.3). What a chat body
cannot say is refused here with a 400 naming the client's field, not the chat field it would become.

Choices (README "Bedrock"):
- Responses `metadata`, `store`, `include`, `truncation`, `max_tool_calls`, `prompt_cache_key` and
  `service_tier` are dropped: they steer OpenAI's storage and billing, not the answer, and no Bedrock
  body takes them (Claude's refuses `metadata`). `metadata` is echoed in a gateway-run Response.
- Stored state (`previous_response_id`, `conversation`, `prompt`, `item_reference` items), hosted
  tools and their items, `background` and `top_logprobs` are refused: a batch line stands alone and
  the gateway stores nothing.
- `reasoning.effort` is carried as chat's `reasoning_effort`; the provider decides what it becomes.
- A Completions `prompt` is one user message; several prompts in one line are refused (one record per
  line, so results map back one-to-one); `echo`, `suffix`, `best_of > 1` and `logprobs` are refused.
"""

from __future__ import annotations

from errors import BadRequest

# Responses fields translated below, and those dropped (see the module notes).
RESPONSES_HANDLED = frozenset({
    "model", "input", "instructions", "tools", "tool_choice", "parallel_tool_calls", "text", "max_output_tokens",
    "temperature", "top_p", "reasoning", "user", "safety_identifier", "stream",
})
RESPONSES_DROPPED = frozenset({
    "metadata", "store", "include", "truncation", "max_tool_calls", "prompt_cache_key", "service_tier",
})
# Fields accepted only at the value that asks for nothing (None, or OpenAI's default).
RESPONSES_NO_OP = {
    "previous_response_id": (None,), "conversation": (None,), "prompt": (None,), "background": (None, False),
    "top_logprobs": (None, 0), "stream_options": (None,),
}
# Input item types a chat body cannot carry (stored state, hosted tools and their calls).
SKIPPED_ITEMS = frozenset({"reasoning"})  # OpenAI's own reasoning (encrypted): nothing another model can read

# Completions fields that pass to the chat body as they are, and those refused unless at their default.
COMPLETIONS_PASSED = frozenset({
    "model", "max_tokens", "temperature", "top_p", "stop", "n", "presence_penalty", "frequency_penalty",
    "logit_bias", "seed", "user", "stream", "stream_options",
})
COMPLETIONS_NO_OP = {"echo": (None, False), "suffix": (None, ""), "best_of": (None, 1), "logprobs": (None,)}


def _refused(field: str, text: str) -> BadRequest:
    return BadRequest(f"{field} {text}.", param=field, code="unsupported_parameter")


def _bad(field: str, text: str) -> BadRequest:
    return BadRequest(f"{field} {text}.", param=field)


# Responses -> chat


def responses_to_chat(body: dict) -> dict:
    """A Responses create body -> the chat-completions body that asks the same (endpoints.md §2.10)."""
    if not isinstance(body, dict):
        raise _bad("body", "must be a JSON object")
    for key, value in body.items():
        if key in RESPONSES_HANDLED or key in RESPONSES_DROPPED:
            continue
        if key in RESPONSES_NO_OP and value in RESPONSES_NO_OP[key]:
            continue
        raise _refused(key, "is not supported on this provider (each batch line stands alone; the gateway stores "
                       "no responses)" if key in RESPONSES_NO_OP else "is not supported")
    chat: dict = {"messages": _instructions(body.get("instructions")) + _input_messages(body.get("input"))}
    for source, target in (("model", "model"), ("max_output_tokens", "max_completion_tokens"),
                           ("temperature", "temperature"), ("top_p", "top_p"), ("user", "user"),
                           ("safety_identifier", "safety_identifier"), ("parallel_tool_calls", "parallel_tool_calls"),
                           ("stream", "stream")):
        if body.get(source) is not None:
            chat[target] = body[source]
    if body.get("tools") is not None:
        chat["tools"] = _tools(body["tools"])
    if body.get("tool_choice") is not None:
        chat["tool_choice"] = _tool_choice(body["tool_choice"])
    response_format = _text_format(body.get("text"))
    if response_format is not None:
        chat["response_format"] = response_format
    effort = reasoning_effort(body)
    if effort is not None:
        chat["reasoning_effort"] = effort
    return chat


def reasoning_effort(body: dict) -> str | None:
    """`reasoning.effort` of a Responses body (None when absent); `summary` is not produced, so dropped."""
    reasoning = body.get("reasoning")
    if reasoning is None:
        return None
    if not isinstance(reasoning, dict):
        raise _bad("reasoning", "must be an object")
    effort = reasoning.get("effort")
    if effort is not None and not isinstance(effort, str):
        raise _bad("reasoning.effort", "must be a string")
    return effort


def _instructions(instructions: object) -> list[dict]:
    if instructions is None:
        return []
    if not isinstance(instructions, str):
        raise _bad("instructions", "must be a string")
    return [{"role": "system", "content": instructions}] if instructions else []


def _input_messages(value: object) -> list[dict]:
    """`input` (a string, or a list of items) as chat messages; consecutive function calls share one
    assistant message, as chat writes parallel tool calls."""
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    if not isinstance(value, list) or not value:
        raise _bad("input", "must be a string or a non-empty list of input items")
    messages: list[dict] = []
    for index, item in enumerate(value):
        where = f"input[{index}]"
        if not isinstance(item, dict):
            raise _bad(where, "must be an object")
        kind = item.get("type", "message")
        if kind == "message":
            messages.append(_message(item, where))
        elif kind == "function_call":
            _function_call(messages, item, where)
        elif kind == "function_call_output":
            messages.append(_function_call_output(item, where))
        elif kind not in SKIPPED_ITEMS:
            raise _refused(f"{where}.type", f"{kind!r} is not supported (only messages, function_call and "
                           "function_call_output items)")
    return messages


def _message(item: dict, where: str) -> dict:
    role = item.get("role")
    content = item.get("content")
    if role not in ("user", "assistant", "system", "developer"):
        raise _bad(f"{where}.role", "must be user, assistant, system or developer")
    if isinstance(content, str):
        return {"role": role, "content": content}
    if not isinstance(content, list) or not content:
        raise _bad(f"{where}.content", "must be a string or a non-empty list of content parts")
    convert = _output_part if role == "assistant" else _input_part
    parts = [convert(part, f"{where}.content[{number}]") for number, part in enumerate(content)]
    if role in ("system", "developer") and any(part["type"] != "text" for part in parts):
        raise _bad(f"{where}.content", "of a system or developer message must be text")
    return {"role": role, "content": parts}


def _input_part(part: object, where: str) -> dict:
    """An `input_text` / `input_image` / `input_file` part as a chat content part."""
    if not isinstance(part, dict):
        raise _bad(where, "must be an object")
    kind = part.get("type")
    if kind == "input_text":
        if not isinstance(part.get("text"), str):
            raise _bad(f"{where}.text", "must be a string")
        return {"type": "text", "text": part["text"]}
    if kind == "input_image":
        if part.get("file_id") is not None or not isinstance(part.get("image_url"), str):
            raise _refused(f"{where}.image_url", "must be given (a data URL or an http(s) URL; file_id cannot be "
                           "resolved)")
        return {"type": "image_url", "image_url": {"url": part["image_url"]}}  # `detail`: no counterpart
    if kind == "input_file":
        if part.get("file_id") is not None or part.get("file_url") is not None \
                or not isinstance(part.get("file_data"), str):
            raise _refused(f"{where}.file_data", "must be given (file_id and file_url cannot be resolved)")
        file = {"file_data": part["file_data"]}
        if part.get("filename") is not None:
            file["filename"] = part["filename"]
        return {"type": "file", "file": file}
    raise _refused(f"{where}.type", f"{kind!r} is not supported (input_text, input_image, input_file)")


def _output_part(part: object, where: str) -> dict:
    """An earlier answer's `output_text` / `refusal` part (or `input_text`) as chat assistant text."""
    if not isinstance(part, dict):
        raise _bad(where, "must be an object")
    kind = part.get("type")
    text = part.get("refusal") if kind == "refusal" else part.get("text")
    if kind not in ("output_text", "input_text", "refusal") or not isinstance(text, str):
        raise _bad(where, "must be an output_text or refusal part with its text")
    return {"type": "text", "text": text}


def _function_call(messages: list[dict], item: dict, where: str) -> None:
    for field in ("call_id", "name", "arguments"):
        if not isinstance(item.get(field), str) or (field != "arguments" and not item[field]):
            raise _bad(f"{where}.{field}", "must be a non-empty string" if field != "arguments" else "must be a string")
    call = {"id": item["call_id"], "type": "function",
            "function": {"name": item["name"], "arguments": item["arguments"]}}
    last = messages[-1] if messages else None
    if last is not None and last["role"] == "assistant" and "tool_calls" in last:
        last["tool_calls"].append(call)
    elif last is not None and last["role"] == "assistant" and "tool_calls" not in last:
        last["tool_calls"] = [call]  # text, then the calls it announced: one assistant turn
    else:
        messages.append({"role": "assistant", "content": None, "tool_calls": [call]})


def _function_call_output(item: dict, where: str) -> dict:
    if not isinstance(item.get("call_id"), str) or not item["call_id"]:
        raise _bad(f"{where}.call_id", "must be a non-empty string")
    output = item.get("output")
    if isinstance(output, list):
        texts = []
        for number, part in enumerate(output):
            if not isinstance(part, dict) or part.get("type") != "input_text" or not isinstance(part.get("text"), str):
                raise _refused(f"{where}.output[{number}]", "must be an input_text part")
            texts.append({"type": "text", "text": part["text"]})
        output = texts
    elif not isinstance(output, str):
        raise _bad(f"{where}.output", "must be a string or a list of input_text parts")
    return {"role": "tool", "tool_call_id": item["call_id"], "content": output}


def _tools(tools: object) -> list[dict]:
    """Flat function tools -> chat's nested form; hosted tools are refused."""
    if not isinstance(tools, list):
        raise _bad("tools", "must be a list")
    out = []
    for index, tool in enumerate(tools):
        where = f"tools[{index}]"
        if not isinstance(tool, dict) or tool.get("type") != "function":
            kind = tool.get("type") if isinstance(tool, dict) else tool
            raise _refused(f"{where}.type", f"{kind!r} is not supported (function tools only)")
        if not isinstance(tool.get("name"), str):
            raise _bad(f"{where}.name", "must be a string")
        function = {key: tool[key] for key in ("name", "description", "parameters", "strict")
                    if tool.get(key) is not None}
        out.append({"type": "function", "function": function})
    return out


def _tool_choice(choice: object) -> object:
    if choice in ("auto", "required", "none"):
        return choice
    if isinstance(choice, dict) and choice.get("type") == "function" and isinstance(choice.get("name"), str):
        return {"type": "function", "function": {"name": choice["name"]}}
    raise _refused("tool_choice", "must be auto, required, none or {type: function, name}")


def _text_format(text: object) -> dict | None:
    """`text.format` as chat's `response_format` (None for plain text)."""
    if text is None:
        return None
    if not isinstance(text, dict):
        raise _bad("text", "must be an object")
    if text.get("verbosity") is not None:
        raise _refused("text.verbosity", "is not supported")
    fmt = text.get("format")
    if fmt is None or (isinstance(fmt, dict) and fmt.get("type") == "text"):
        return None
    if not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
        raise _refused("text.format", "must be text or json_schema")
    if not isinstance(fmt.get("schema"), dict):
        raise _bad("text.format.schema", "must be an object")
    spec = {key: fmt[key] for key in ("name", "description", "schema", "strict") if fmt.get(key) is not None}
    return {"type": "json_schema", "json_schema": spec}


# Completions -> chat


def completions_to_chat(body: dict) -> dict:
    """A Completions body -> a chat body with its prompt as one user message (endpoints.md §4.3)."""
    if not isinstance(body, dict):
        raise _bad("body", "must be a JSON object")
    chat: dict = {}
    for key, value in body.items():
        if key == "prompt" or key in COMPLETIONS_PASSED:
            continue
        if key in COMPLETIONS_NO_OP and value in COMPLETIONS_NO_OP[key]:
            continue
        raise _refused(key, "is not supported (the prompt runs as one chat message)")
    chat.update({key: value for key, value in body.items() if key in COMPLETIONS_PASSED})
    chat["messages"] = [{"role": "user", "content": completion_prompt(body.get("prompt"))}]
    return chat


def completion_prompt(prompt: object) -> str:
    """The one prompt of a Completions body: a string or a list of one string."""
    return _one_text(prompt, "prompt", "prompts", "one model call per line")


# Embeddings


def embedding_text(body: dict) -> str:
    """The one text of an embeddings body: `input` as a string or a list of one string."""
    return _one_text(body.get("input"), "input", "texts", "one record per line")


def _one_text(value: object, field: str, plural: str, why: str) -> str:
    """`value` as one non-empty string (a string, or a list of one); several strings are refused with the
    advice to put each on its own line, and anything else (token arrays) as unsendable."""
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], str):
        value = value[0]
    if isinstance(value, str):
        if not value:
            raise _bad(field, "must not be empty")
        return value
    if isinstance(value, list) and len(value) > 1 and all(isinstance(v, str) for v in value):
        raise _refused(field, f"holds {len(value)} {plural}; a line takes one ({why}, so each result maps back to "
                       f"its custom_id): put each {plural[:-1]} on its own line")
    raise _refused(field, "must be a string or a list of one string (token arrays cannot be sent)")
