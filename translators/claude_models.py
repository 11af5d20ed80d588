"""Which Claude models take which sampling parameters: the defaults of the Anthropic sampling rules.

translators/anthropic.py's `SamplingRules` and config.py's settings both start from these; they live
apart so that config.py (loaded by gunicorn's master) imports no Flask through errors.py.
"""

# Models reported to refuse `temperature` ("deprecated for this model") on every API version.
NO_SAMPLING_MODELS = ("claude-opus-4-7*", "claude-opus-4-8*", "claude-fable-5*")
# Models that take temperature and top_p together. From Claude Opus 4.1 on, models refuse the
# pair ("cannot both be specified"); a model not listed here gets the stricter rule.
TEMPERATURE_AND_TOP_P_MODELS = ("claude-instant*", "claude-2*", "claude-3*", "claude-opus-4-0*",
                                "claude-opus-4-2025*", "claude-sonnet-4-0*", "claude-sonnet-4-2025*")
