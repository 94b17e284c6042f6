"""A tiny OpenAI-compatible chat-completions server that answers at once (the benchmark's stand-in LLM).

``python bench/fake_llm.py --port N``. Used by ``bench/turns.py`` only when the shared test fake
(``tests/fakes/openai_server.py``) is not available; it answers every ``POST /v1/chat/completions``
with a fixed short reply and a usage block, and ``GET /v1/models`` with one model.
"""

import argparse
import time

from aiohttp import web

REPLY = "Hello! Nice to meet you. What shall we talk about today?"


async def chat_completions(request: web.Request) -> web.Response:
    body = await request.json()
    return web.json_response(
        {
            "id": "chatcmpl-bench",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "bench-model"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": REPLY}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 42, "completion_tokens": 12, "total_tokens": 54},
        }
    )


async def models(request: web.Request) -> web.Response:
    return web.json_response({"object": "list", "data": [{"id": "bench-model", "object": "model"}]})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat_completions)
    app.router.add_get("/v1/models", models)
    web.run_app(app, host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
