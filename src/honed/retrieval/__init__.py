"""Retrieval: a corpus of documents chunked, embedded (MiniLM) and BM25-indexed, searched by reciprocal rank
fusion, for the `rag` and `rag_fine_tuned` candidates. It sits above `data` and below `train`."""
