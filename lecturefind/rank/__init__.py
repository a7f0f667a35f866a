"""Ranking: retrieval per signal, fusion, and merging hits into moments."""
