"""Google Gemini behind the OpenAI Files and Batch API: Files API uploads, Gemini batch jobs.

`client.py` holds the upstream calls (Generative Language API v1beta), `operations.py` the nine
operations the dispatcher calls, `translators/gemini.py` the shape conversions.
"""

NAME = "gemini"
