"""A small fake OpenAI-compatible server on 127.0.0.1, speaking the real HTTP protocol.

It answers ``POST /v1/chat/completions`` (plain JSON, ``stream: true`` as server-sent events ending with
``data: [DONE]``, and ``response_format: {"type": "json_object"}`` with a JSON object string) and
``GET /v1/models``. What it does is chosen by its mode, settable at start and switchable at runtime,
in process (``server.set_mode(...)``) or over HTTP (``POST /_control {"mode": ..., "fail_times": n}``):

- ``instant``: answer at once, in character: two sentences derived from the last user message.
- ``slow``: sleep ``delay_seconds`` first (to exercise client timeouts).
- ``fail``: HTTP 500, always.  ``flaky``: HTTP 500 for the first ``fail_times`` requests, then answer.
- ``bad_request``: HTTP 400 with OpenAI's error body.  ``rate_limited``: HTTP 429.
- ``empty_choices`` / ``no_usage``: a 200 without choices / without the usage block.
- ``not_json``: plain prose even when JSON was asked for.  ``garbage``: a 200 HTML page.
- ``stream_cut``: a stream that drops the connection after two deltas; ``stream_error``: a stream
  that sends an error event after two deltas. (Both answer non-streaming requests normally.)
- ``stream_hold``: a stream that sends its first delta, then waits until ``release_streams()`` is called
  (at most ``delay_seconds``) before the rest: a test can see what its client received meanwhile.

``queue_json(obj, ...)``: the next JSON-mode requests answer these objects, in order, whatever the mode
(an NPC evaluation choosing a transition, an extraction filling variables).

Emotion appraisal requests (JSON requests whose system message names ``goal_congruence``) are a side
channel: they get the six dimensions back, judged from a few words of the last user message
(``appraisal_for``: values the offline lexicon never produces, relevance 0.77, so tests can tell which
appraiser answered), whatever the mode above, and are neither counted by ``flaky`` nor listed in
``chat_requests`` (see ``appraisal_requests``). Only these modes touch them: ``appraisal_fail`` (HTTP 500),
``appraisal_invalid`` (a JSON object without the six dimensions), ``appraisal_prose`` (not JSON).

Keys: with ``required_api_key`` set, any other bearer key gets HTTP 401 whose message repeats the key it
was sent (some OpenAI-compatible servers and proxies do; OpenAI masks the middle), so tests can prove that
we never pass a refused key on; a bearer key in ``forbidden_api_keys`` gets HTTP 403 (a key without access
to the model).

It records every request it receives (method, path, headers, JSON body, client port) for assertions.

In process::

    with FakeOpenAIServer(mode="flaky", fail_times=2) as server:
        ... server.base_url ... server.requests ...

As its own process (used by ``bench/turns.py``)::

    python -m tests.fakes.openai_server --port 8899 --mode instant
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from aiohttp import web

MODES = (
    "instant",
    "slow",
    "fail",
    "flaky",
    "bad_request",
    "rate_limited",
    "empty_choices",
    "no_usage",
    "not_json",
    "garbage",
    "stream_cut",
    "stream_error",
    "stream_hold",
    "appraisal_fail",
    "appraisal_invalid",
    "appraisal_prose",
)
DEFAULT_MODEL = "fake-chat"


@dataclass(frozen=True)
class ReceivedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    client_port: int | None

    @property
    def authorization(self) -> str:
        return self.headers.get("Authorization", "")


def reply_for(messages: list[dict]) -> str:
    """Two in-character sentences derived from the last user message (so the reply splits into two bubbles)."""
    system = "\n".join(str(m.get("content", "")) for m in messages if m.get("role") == "system")
    users = [str(m.get("content", "")) for m in messages if m.get("role") == "user"]
    name_match = re.search(r"You are ([^.\n]+)", system)
    name = name_match.group(1).strip() if name_match else "your character"
    words = re.sub(r"\s+", " ", users[-1] if users else "").strip().rstrip("?!.").split(" ")
    echo = " ".join(words[:6]) if words and words[0] else "hello"
    return f"{name} here, you said: {echo}. Tell me more about it?"


_WARM_WORDS = ("love", "great", "thank", "wonderful", "amazing", "고마", "ありがとう")
_HOSTILE_WORDS = ("hate", "stupid", "idiot", "useless", "바보", "バカ")


def appraisal_for(messages: list[dict]) -> dict[str, float]:
    """The fake model's appraisal of the last user message: warm, hostile or neutral, by a few words."""
    users = [str(m.get("content", "")).lower() for m in messages if m.get("role") == "user"]
    text = users[-1] if users else ""
    if any(word in text for word in _HOSTILE_WORDS):
        congruence, norm, agency = -0.9, -0.8, -0.9
    elif any(word in text for word in _WARM_WORDS):
        congruence, norm, agency = 0.9, 0.7, -0.7
    else:
        congruence, norm, agency = 0.0, 0.0, 0.0
    return {
        "goal_relevance": 0.77,
        "goal_congruence": congruence,
        "expectedness": 0.33,
        "controllability": 0.44,
        "agency": agency,
        "norm_compatibility": norm,
    }


def _asks_appraisal(body: Any) -> bool:
    if not isinstance(body, dict) or (body.get("response_format") or {}).get("type") != "json_object":
        return False
    messages = body.get("messages") if isinstance(body.get("messages"), list) else []
    return any(
        isinstance(m, dict) and m.get("role") == "system" and "goal_congruence" in str(m.get("content", ""))
        for m in messages
    )


def _word_count(messages: list[dict]) -> int:
    return sum(len(str(m.get("content", "")).split()) for m in messages)


def _error_body(message: str, error_type: str, code: str | None, param: str | None = None) -> dict:
    return {"error": {"message": message, "type": error_type, "param": param, "code": code}}


class FakeOpenAIServer:
    """The server, run on its own thread with its own event loop (``start``/``stop`` or a ``with`` block)."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        mode: str = "instant",
        fail_times: int = 2,
        delay_seconds: float = 5.0,
        required_api_key: str | None = None,
        models: tuple[str, ...] = (DEFAULT_MODEL,),
        keep_requests: int | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.models = models
        self.required_api_key = required_api_key
        self.forbidden_api_keys: set[str] = set()
        self._lock = threading.Lock()
        self._requests: deque[ReceivedRequest] = deque(maxlen=keep_requests)
        self._chat_count = 0
        self._json_queue: deque[Any] = deque()
        self._released: asyncio.Event | None = None  # made on the server's loop
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self.set_mode(mode, fail_times=fail_times, delay_seconds=delay_seconds)

    # -- control -----------------------------------------------------------------------------------------

    def set_mode(self, mode: str, *, fail_times: int | None = None, delay_seconds: float | None = None) -> None:
        """Switch behaviour and reset the ``flaky`` counter; omitted ``fail_times``/``delay_seconds`` are kept."""
        if mode not in MODES:
            raise ValueError(f"Unknown mode {mode!r}; one of {', '.join(MODES)}.")
        with self._lock:
            self.mode = mode
            if fail_times is not None:
                self.fail_times = fail_times
            if delay_seconds is not None:
                self.delay_seconds = delay_seconds
            self._chat_count = 0

    def reset(self) -> None:
        """Back to ``instant`` with the defaults, and forget the recorded requests and queued answers."""
        self.set_mode("instant", fail_times=2, delay_seconds=5.0)
        self.required_api_key = None
        self.forbidden_api_keys = set()
        with self._lock:
            self._requests.clear()
            self._json_queue.clear()
        if self._loop is not None and self._released is not None:
            self._loop.call_soon_threadsafe(self._released.clear)

    def queue_json(self, *answers: Any) -> None:
        """The next JSON-mode chat requests answer ``answers``, one each, in order."""
        with self._lock:
            self._json_queue.extend(answers)

    def release_streams(self) -> None:
        """Let every ``stream_hold`` stream send the rest of its reply (and later ones run straight through)."""
        loop, released = self._loop, self._released
        if loop is not None and released is not None:
            loop.call_soon_threadsafe(released.set)

    @property
    def requests(self) -> list[ReceivedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def chat_requests(self) -> list[ReceivedRequest]:
        """Chat completion requests, except emotion appraisal requests (listed by ``appraisal_requests``)."""
        return [r for r in self.requests if r.path.endswith("/chat/completions") and not _asks_appraisal(r.body)]

    @property
    def appraisal_requests(self) -> list[ReceivedRequest]:
        return [r for r in self.requests if r.path.endswith("/chat/completions") and _asks_appraisal(r.body)]

    @property
    def root_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/v1"

    # -- lifecycle ---------------------------------------------------------------------------------------

    def build_app(self) -> web.Application:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self._chat_completions)
        app.router.add_get("/v1/models", self._models)
        app.router.add_post("/_control", self._control_set)
        app.router.add_get("/_control", self._control_get)
        return app

    def start(self) -> FakeOpenAIServer:
        """Listen on a thread of its own; returns once the port is bound."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._bind())
            except BaseException as error:  # reported to the starting thread
                failure.append(error)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=serve, name="fake-openai-server", daemon=True)
        self._thread.start()
        ready.wait(10)
        if failure:
            raise failure[0]
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop = self._thread = None

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    async def _bind(self) -> None:
        self._released = asyncio.Event()
        # handler_cancellation: a client that timed out must not leave a slow handler sleeping on shutdown.
        self._runner = web.AppRunner(self.build_app(), handler_cancellation=True, shutdown_timeout=0.5, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]

    # -- handlers ----------------------------------------------------------------------------------------

    async def _record(self, request: web.Request) -> Any:
        try:
            body = await request.json() if request.can_read_body else None
        except json.JSONDecodeError:
            body = await request.text()
        peer = request.transport.get_extra_info("peername") if request.transport else None
        received = ReceivedRequest(
            method=request.method,
            path=request.path,
            headers=dict(request.headers),
            body=body,
            client_port=peer[1] if peer else None,
        )
        with self._lock:
            self._requests.append(received)
        return body

    def _unauthorized(self, request: web.Request) -> web.Response | None:
        sent = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if self.required_api_key and sent != self.required_api_key:
            message = f"Incorrect API key provided: {sent}."
            return web.json_response(_error_body(message, "invalid_request_error", "invalid_api_key"), status=401)
        if sent in self.forbidden_api_keys:
            message = f"The key {sent} does not have access to this model."
            return web.json_response(_error_body(message, "invalid_request_error", "model_not_found"), status=403)
        return None

    async def _models(self, request: web.Request) -> web.Response:
        await self._record(request)
        if refused := self._unauthorized(request):
            return refused
        created = int(time.time())
        data = [{"id": name, "object": "model", "created": created, "owned_by": "fake"} for name in self.models]
        return web.json_response({"object": "list", "data": data})

    async def _chat_completions(self, request: web.Request) -> web.StreamResponse:
        body = await self._record(request)
        if refused := self._unauthorized(request):
            return refused
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list) or not body.get("model"):
            message = "'model' and 'messages' are required properties."
            return web.json_response(_error_body(message, "invalid_request_error", None, "messages"), status=400)
        if _asks_appraisal(body):
            return self._appraisal(body)
        with self._lock:
            self._chat_count += 1
            mode, count, fail_times, delay = self.mode, self._chat_count, self.fail_times, self.delay_seconds

        if mode == "slow":
            await asyncio.sleep(delay)
        if mode == "fail" or (mode == "flaky" and count <= fail_times):
            body_500 = _error_body("The server had an error while processing your request.", "server_error", None)
            return web.json_response(body_500, status=500)
        if mode == "bad_request":
            message = f"The model '{body['model']}' does not exist or you do not have access to it."
            body_400 = _error_body(message, "invalid_request_error", "model_not_found", "model")
            return web.json_response(body_400, status=400)
        if mode == "rate_limited":
            message = "Rate limit reached for requests. Please try again in 1s."
            return web.json_response(
                _error_body(message, "requests", "rate_limit_exceeded"), status=429, headers={"retry-after": "1"}
            )
        if mode == "garbage":
            return web.Response(text="<html><body>502 Bad Gateway</body></html>", content_type="text/html")

        text = reply_for(body["messages"])
        wants_json = (body.get("response_format") or {}).get("type") == "json_object"
        with self._lock:
            queued = self._json_queue.popleft() if wants_json and self._json_queue else None
        if queued is not None:
            text = json.dumps(queued)
        elif wants_json and mode != "not_json":
            text = json.dumps({"reply": text, "mood": "curious"})
        usage = {
            "prompt_tokens": _word_count(body["messages"]),
            "completion_tokens": len(text.split()),
        }
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        completion_id = f"chatcmpl-fake{count:06d}"
        created = int(time.time())
        if body.get("stream"):
            return await self._stream(request, body, mode, text, usage, completion_id, created)

        answer: dict[str, Any] = {
            "id": completion_id,
            "object": "chat.completion",
            "created": created,
            "model": body["model"],
            "system_fingerprint": "fp_fake",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text, "refusal": None},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": usage,
        }
        if mode == "empty_choices":
            answer["choices"] = []
        if mode == "no_usage":
            del answer["usage"]
        return web.json_response(answer)

    def _appraisal(self, body: dict) -> web.Response:
        mode = self.mode
        if mode == "appraisal_fail":
            body_500 = _error_body("The server had an error while processing your request.", "server_error", None)
            return web.json_response(body_500, status=500)
        if mode == "appraisal_prose":
            text = "The user seems friendly, I would say."
        elif mode == "appraisal_invalid":
            text = json.dumps({"appraisal": {"mood": "unsure"}})
        else:
            text = json.dumps({"appraisal": appraisal_for(body["messages"])})
        usage = {"prompt_tokens": _word_count(body["messages"]), "completion_tokens": len(text.split())}
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        return web.json_response(
            {
                "id": "chatcmpl-fake-appraisal",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body["model"],
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                "usage": usage,
            }
        )

    async def _stream(
        self, request: web.Request, body: dict, mode: str, text: str, usage: dict, completion_id: str, created: int
    ) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)

        def chunk(delta: dict, finish_reason: str | None = None) -> bytes:
            data = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": body["model"],
                "system_fingerprint": "fp_fake",
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
            }
            return f"data: {json.dumps(data)}\n\n".encode()

        await response.write(chunk({"role": "assistant", "content": ""}))
        words = text.split(" ")
        for index, word in enumerate(words):
            if index == 2 and mode == "stream_cut":
                request.transport.close()  # mid-body: the client sees an incomplete chunked read
                return response
            if index == 2 and mode == "stream_error":
                error = _error_body("The server had an error while processing your request.", "server_error", None)
                await response.write(f"data: {json.dumps(error)}\n\n".encode())
                await response.write(b"data: [DONE]\n\n")
                return response
            await response.write(chunk({"content": word if index == 0 else " " + word}))
            if index == 0 and mode == "stream_hold" and self._released is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._released.wait(), self.delay_seconds)
        await response.write(chunk({}, finish_reason="stop"))
        if (body.get("stream_options") or {}).get("include_usage"):
            final = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": body["model"],
                "choices": [],
                "usage": usage,
            }
            await response.write(f"data: {json.dumps(final)}\n\n".encode())
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    async def _control_set(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
            self.set_mode(
                body.get("mode", self.mode), fail_times=body.get("fail_times"), delay_seconds=body.get("delay_seconds")
            )
        except (ValueError, AttributeError) as error:
            return web.json_response({"error": str(error)}, status=400)
        if body.get("clear_requests"):
            with self._lock:
                self._requests.clear()
        return await self._control_get(request)

    async def _control_get(self, request: web.Request) -> web.Response:
        with self._lock:
            state = {
                "mode": self.mode,
                "fail_times": self.fail_times,
                "delay_seconds": self.delay_seconds,
                "requests_received": len(self._requests),
                "chat_requests_since_mode_set": self._chat_count,
            }
        return web.json_response(state)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A fake OpenAI-compatible server on 127.0.0.1.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8899, help="0 picks a free port (printed on start)")
    parser.add_argument("--mode", default="instant", choices=MODES)
    parser.add_argument("--fail-times", type=int, default=2)
    parser.add_argument("--delay-seconds", type=float, default=5.0)
    parser.add_argument("--api-key", default=None, help="require this bearer key (401 otherwise)")
    args = parser.parse_args(argv)
    # A long-running process keeps only the latest requests, so a benchmark does not grow it without bound.
    server = FakeOpenAIServer(
        host=args.host,
        port=args.port,
        mode=args.mode,
        fail_times=args.fail_times,
        delay_seconds=args.delay_seconds,
        required_api_key=args.api_key,
        keep_requests=1000,
    )
    server.start()
    print(f"fake OpenAI server listening on {server.base_url} (mode {args.mode})", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
