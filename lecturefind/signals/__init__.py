"""Signals per segment: speech (ASR), slide text (OCR, PDF text layer), text embeddings."""
