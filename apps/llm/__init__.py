"""Language models: the admin-editable model catalog and the provider clients.

Doors: ``services.chat`` / ``services.chat_json`` / ``services.chat_stream`` (pick the provider for a model
name and call it), ``selectors`` (the catalog: a model's ``ModelSpec``, the rate card; and the image models,
``type=sd`` rows, as ``ImageModelSpec`` with their own rate card; the image backends live in ``assets``), ``types``
(``ChatMessage``, ``ChatResult``, ``ModelSpec`` with what a call costs, ``credits_quantize``) and ``errors``
(``LLMTransientError`` is safe to retry, ``LLMTerminalError`` is not). Providers: ``scripted`` (offline,
deterministic, the development stand-in) and ``openai_compatible`` (OpenAI, vLLM, Ollama, llama.cpp
server, LM Studio, OpenRouter...). Depends on ``core`` only.
"""
