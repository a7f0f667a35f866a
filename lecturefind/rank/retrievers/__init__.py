"""Retrievers: one small interface (`Retriever`), one implementation per file; the Searcher fuses them."""
from .base import Ranked, Retriever
from .lexical import LexicalRetriever
from .vector import VectorRetriever
from .visual import VisualRetriever

__all__ = ["Ranked", "Retriever", "LexicalRetriever", "VectorRetriever", "VisualRetriever"]
