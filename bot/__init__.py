"""paperbot: new research papers, summarized and searchable, where teams already talk."""

__version__ = "0.1.0"
