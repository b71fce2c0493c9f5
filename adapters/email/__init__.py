"""Email as a delivery platform: digests rendered as multipart text + HTML and sent by SMTP."""

from adapters.email.client import EmailAdapter

__all__ = ["EmailAdapter"]
