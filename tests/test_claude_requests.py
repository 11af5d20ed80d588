"""What a Claude request may carry, per the official types and the API's per-model rules:
sampling parameters by API version and model, image and document sources."""

from __future__ import annotations

import base64

import pytest

from errors import BadRequest
from translators import anthropic as t

USER = {"role": "user", "content": "hi"}
V2023 = t.SamplingRules(api_version="2023-06-01")


def params(body: dict, *, sampling: t.SamplingRules = V2023, model: str | None = None) -> dict:
    return t.chat_to_params({"messages": [USER], **body}, default_max_tokens=100, sampling=sampling, model=model)


@pytest.mark.parametrize("model", ["claude-3-5-sonnet-20241022", "anthropic.claude-3-sonnet-20240229-v1:0",
                                   "claude-sonnet-4-20250514", "us.anthropic.claude-opus-4-20250514-v1:0"])
def test_older_models_take_temperature_and_top_p_together(model):
    out = params({"model": model, "temperature": 0.3, "top_p": 0.9})
    assert out["temperature"] == 0.3 and out["top_p"] == 0.9


@pytest.mark.parametrize("model", ["claude-opus-4-1-20250805", "claude-sonnet-4-5", "claude-haiku-4-5-20251001",
                                   "us.anthropic.claude-sonnet-4-6-v1:0", "claude-some-future-model"])
def test_newer_and_unknown_models_take_one_of_temperature_and_top_p(model):
    with pytest.raises(BadRequest) as caught:
        params({"model": model, "temperature": 0.3, "top_p": 0.9})
    assert caught.value.param == "top_p" and caught.value.code == "unsupported_parameter"
    assert params({"model": model, "temperature": 0.3})["temperature"] == 0.3
    assert params({"model": model, "top_p": 0.5})["top_p"] == 0.5


@pytest.mark.parametrize("model", ["claude-opus-4-7", "claude-opus-4-8-20260601", "claude-fable-5",
                                   "global.anthropic.claude-opus-4-7-v1:0"])
def test_models_that_refuse_sampling_parameters(model):
    for field in ("temperature", "top_p"):
        with pytest.raises(BadRequest) as caught:
            params({"model": model, field: 0.5})
        assert caught.value.param == field and model in caught.value.message
    assert "temperature" not in params({"model": model})


def test_api_version_2026_10_21_takes_no_sampling_parameters_for_any_model():
    rules = t.SamplingRules(api_version="2026-10-21")
    with pytest.raises(BadRequest) as caught:
        params({"model": "claude-3-haiku-20240307", "temperature": 1}, sampling=rules)
    assert "2026-10-21" in caught.value.message
    with pytest.raises(BadRequest):  # checked even before the model is known (upload time)
        params({"top_p": 0.5}, sampling=rules)
    assert "top_p" not in params({"model": "claude-3-haiku-20240307"}, sampling=rules)


def test_the_batch_model_counts_when_the_body_names_none():
    with pytest.raises(BadRequest):
        params({"temperature": 0.2, "top_p": 0.2}, model="claude-sonnet-4-5")
    assert params({"temperature": 0.2, "top_p": 0.2})["top_p"] == 0.2  # model not known yet


def test_rules_are_configurable():
    rules = t.SamplingRules(no_sampling_models=(), temperature_and_top_p_models=("claude-sonnet-4-5*",))
    assert params({"model": "claude-sonnet-4-5", "temperature": 0.1, "top_p": 0.1}, sampling=rules)["top_p"] == 0.1
    assert params({"model": "claude-opus-4-7", "temperature": 0.1}, sampling=rules)["temperature"] == 0.1


def test_native_params_items_follow_the_same_rules():
    item = {"custom_id": "a", "params": {"model": "claude-opus-4-7", "max_tokens": 5, "messages": [USER],
                                         "temperature": 0.5}}
    with pytest.raises(BadRequest) as caught:
        t.batch_request(item, default_max_tokens=5, sampling=V2023)
    assert caught.value.param == "params.temperature"
    line = {"custom_id": "b", "body": {"messages": [USER], "temperature": 0.5, "top_p": 0.5}}
    with pytest.raises(BadRequest) as caught:
        t.batch_request(line, default_max_tokens=5, sampling=V2023, model="claude-sonnet-4-5")
    assert caught.value.param == "body.top_p"


def _part(part: dict) -> dict:
    return params({"messages": [{"role": "user", "content": [part]}]})["messages"][0]["content"][0]


def test_images_take_the_four_media_types_anthropic_accepts():
    ok = _part({"type": "image_url", "image_url": {"url": "data:image/webp;base64,AAAA"}})
    assert ok == {"type": "image", "source": {"type": "base64", "media_type": "image/webp", "data": "AAAA"}}
    with pytest.raises(BadRequest) as caught:
        _part({"type": "image_url", "image_url": {"url": "data:image/bmp;base64,AAAA"}})
    assert "image/bmp" in caught.value.message and caught.value.param.endswith("image_url.url")
    url = _part({"type": "image_url", "image_url": {"url": "https://example.com/a.png"}})
    assert url["source"] == {"type": "url", "url": "https://example.com/a.png"}


def test_documents_are_pdf_as_base64_or_plain_text_as_text():
    pdf = _part({"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBERi0="}})
    assert pdf["source"] == {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0="}
    text = base64.b64encode("héllo".encode()).decode()
    plain = _part({"type": "file", "file": {"file_data": f"data:text/plain;base64,{text}"}})
    assert plain["source"] == {"type": "text", "media_type": "text/plain", "data": "héllo"}
    named = _part({"type": "file", "file": {"file_data": text, "filename": "notes.TXT"}})
    assert named["source"]["type"] == "text"
    assert _part({"type": "file", "file": {"file_data": "JVBERi0=", "filename": "a.pdf"}})["source"]["type"] == "base64"
    for bad in ({"file_data": "data:text/csv;base64,YSxi"}, {"file_data": "YSxi", "filename": "a.docx"},
                {"file_data": "YSxi"}, {"file_data": "data:text/plain;base64,!!!"}):
        with pytest.raises(BadRequest):
            _part({"type": "file", "file": bad})
