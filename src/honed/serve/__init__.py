"""`honed serve`: an OpenAI-compatible server over a base model and its LoRA adapters (app, engine, pool,
backend, log, metrics), or a front over vLLM (vllm)."""
