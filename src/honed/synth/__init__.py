"""Synthetic data for small datasets: self-instruct style examples from a teacher (any OpenAI-compatible URL or the
local base model), and label-preserving augmentation without one. It sits right above `evaluate` (it generates
with honed.evaluate.generate and talks to teachers through honed.evaluate.api)."""
