"""Ingestion: files in, committed catalog rows and vectors out."""
