"""Relevance that learns: the offline text representation, interest models per person and per
channel trained on feedback, the rankings that use them (`/papers foryou`, digests, alerts),
similar papers and semantic candidates for search, and optional embeddings.

It may import enrich, fetch, settings, store and core; chat, digests and alerts import it.
"""
