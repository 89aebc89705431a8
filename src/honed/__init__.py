"""honed: turn a general open LLM into a measured specialist."""

__version__ = "0.1.0"
