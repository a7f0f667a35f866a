"""Gemini Embedding 2 backend: native multimodal clip/page/query embeddings through google-genai.

Optional: the offline backend never imports this package. Everything that is sent is checked
against the model's limits first, every vector is cached by content hash in the index directory,
and the API key (GEMINI_API_KEY / GOOGLE_API_KEY) is scrubbed from every message shown to users.
"""
from .config import GeminiConfig, backend_from_env
from .errors import GeminiError, LimitError

__all__ = ["GeminiConfig", "GeminiError", "LimitError", "backend_from_env"]
