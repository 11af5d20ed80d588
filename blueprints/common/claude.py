"""The Claude request rules configured for this gateway, shared by Anthropic and Claude on Bedrock."""

from __future__ import annotations

from flask import current_app

from translators.anthropic import SamplingRules


def sampling_rules(api_version: str | None) -> SamplingRules:
    """The sampling rules for requests sent with `api_version` (None: Bedrock's Claude body)."""
    config = current_app.config
    return SamplingRules(
        api_version=api_version,
        no_sampling_models=tuple(config["ANTHROPIC_NO_SAMPLING_MODELS"]),
        temperature_and_top_p_models=tuple(config["ANTHROPIC_TEMPERATURE_AND_TOP_P_MODELS"]),
    )
