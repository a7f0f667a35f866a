"""Storage: the SQLite catalog and the FAISS vector store, one index directory."""
