"""A batch's cost (`GET /batches/{id}/cost`) and an estimate before submitting one
(`POST /batches/estimate`): the request and both replies (the gateway's own objects, not OpenAI's)."""

from __future__ import annotations

from dataclasses import dataclass

from marshmallow import EXCLUDE, Schema, fields, post_load, validate

from schemas.batch import BATCH_STATUSES, BatchUsageSchema
from schemas.requests import BATCH_ENDPOINTS, GatewaySchema, Options


def _money() -> fields.Float:
    return fields.Float(load_default=None, allow_none=True,
                        metadata={"description": "US dollars; null when a model's price is unknown."})


def _text() -> fields.String:
    return fields.String(load_default=None, allow_none=True)


class ModelCostSchema(Schema):
    """One model's share of a batch's tokens and what they cost."""

    class Meta:
        unknown = EXCLUDE

    model = fields.String(required=True, metadata={"description": "The model the results name (\"\" if none)."})
    input_tokens = fields.Integer(required=True, strict=True)
    cached_tokens = fields.Integer(required=True, strict=True)
    output_tokens = fields.Integer(required=True, strict=True)
    price_model = _text()
    price_provider = _text()
    input_cost = _money()
    output_cost = _money()
    total_cost = _money()


class BatchCostSchema(Schema):
    """What a batch cost: its usage at the provider's prices, less the batch discount."""

    class Meta:
        unknown = EXCLUDE

    object = fields.String(required=True, validate=validate.Equal("batch.cost"))
    batch_id = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(BATCH_STATUSES))
    provider = fields.String(required=True)
    model = _text()
    currency = fields.String(required=True, validate=validate.Equal("USD"))
    usage = fields.Nested(BatchUsageSchema, load_default=None, allow_none=True,
                          metadata={"description": "Null until the batch has ended and its usage is known."})
    input_cost = _money()
    output_cost = _money()
    total_cost = _money()
    batch_discount = fields.Float(required=True, metadata={
        "description": "The fraction taken off real-time prices (0.5: half price; 0 for a gateway-run batch)."})
    prices_source = fields.String(required=True)
    models = fields.List(fields.Nested(ModelCostSchema), required=True)
    unpriced_models = fields.List(fields.String(), required=True)


class ModelEstimateSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    model = fields.String(required=True)
    lines = fields.Integer(required=True, strict=True)
    input_tokens = fields.Integer(required=True, strict=True)
    output_tokens_max = fields.Integer(required=True, strict=True, metadata={
        "description": "Summed over the lines that set a maximum output."})
    price_model = _text()
    min_cost = _money()
    max_cost = _money()


class BatchEstimateSchema(Schema):
    """An approximate token count and cost range of an input file, before it is submitted."""

    class Meta:
        unknown = EXCLUDE

    object = fields.String(required=True, validate=validate.Equal("batch.estimate"))
    input_file_id = fields.String(required=True)
    endpoint = fields.String(required=True)
    provider = fields.String(required=True)
    method = fields.String(required=True, validate=validate.Equal("approximate"), metadata={
        "description": "About four characters a token; no tokenizer and no provider call."})
    lines = fields.Integer(required=True, strict=True)
    input_tokens = fields.Integer(required=True, strict=True)
    output_tokens_max = fields.Integer(load_default=None, allow_none=True, strict=True, metadata={
        "description": "Null when some line sets no maximum output (see lines_without_max_output)."})
    lines_without_max_output = fields.Integer(required=True, strict=True)
    currency = fields.String(required=True, validate=validate.Equal("USD"))
    batch_discount = fields.Float(required=True)
    prices_source = fields.String(required=True)
    min_cost = _money()
    max_cost = _money()
    models = fields.List(fields.Nested(ModelEstimateSchema), required=True)
    unpriced_models = fields.List(fields.String(), required=True)


@dataclass(frozen=True)
class EstimateRequest:
    input_file_id: str
    endpoint: str
    model: str | None
    execution: str
    options: Options


class EstimateRequestSchema(GatewaySchema):
    """Body of `POST /batches/estimate`: the input file, its endpoint and (optional) the model to price
    every line at (else each line's `body.model`); `provider` is taken as for a create."""

    input_file_id = fields.String(required=True, validate=validate.Length(min=1))
    endpoint = fields.String(required=True, validate=validate.OneOf(BATCH_ENDPOINTS))
    execution = fields.String(load_default="provider", validate=validate.OneOf(("provider", "gateway")),
                              metadata={"description": "\"gateway\": priced without the batch discount."})

    @post_load
    def make(self, data: dict, **kwargs) -> EstimateRequest:
        options = self.options(data)
        return EstimateRequest(data["input_file_id"], data["endpoint"], options.model, data["execution"], options)
