"""Production monitoring: drift between a reference and current traffic, quality from feedback, the request log."""
