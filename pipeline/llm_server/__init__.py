"""`switchboard llm-server`: an OpenAI-compatible LLM on CPU, from a model in an installed wheel."""
