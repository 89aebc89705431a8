"""Export a trained run so it can leave Python: a merged Hugging Face directory, or a GGUF file with an Ollama
Modelfile. Each keeps the chat template and stops at the template's end-of-turn token (proved by round-trip tests).

`honed.export.api.export_run(run_dir, fmt, quant, out)` is the entry point; `honed.export.merge.merged_model`
gives the merged model in memory for other stages.
"""
