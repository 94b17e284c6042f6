"""Fake image servers on 127.0.0.1, each speaking its real HTTP protocol: AUTOMATIC1111/Forge, ComfyUI and an
OpenAI-compatible images API. Each runs on a thread of its own (``start``/``stop`` or a ``with`` block) and
records every request it receives (``server.requests``: method, path, query, headers, body) for assertions.

The pictures are real PNGs of the size asked, one solid colour derived from the prompt (``colour_for``), so
a test can tell which prompt a picture was drawn from.

Behaviour is chosen by the mode (``server.set_mode("fail")``; ``server.reset()`` goes back to ``ok`` and
forgets the requests). Modes every server has:

- ``ok``: answer as the real server does.
- ``fail``: HTTP 500.  ``rate_limited``: HTTP 429.  ``bad_request``: the server's own 4xx refusal.
- ``slow``: sleep ``delay_seconds`` before answering (to exercise client timeouts).
- ``garbage``: a 200 HTML page instead of JSON.
- ``not_image``: the protocol's answer, with bytes that are not a picture where the picture belongs.

``FakeAutomatic1111`` (fixture ``fake_a1111``), for ``provider=automatic1111`` with ``base_url =
server.base_url``:

- ``POST /sdapi/v1/txt2img`` and ``POST /sdapi/v1/img2img`` (the latter needs ``init_images``): answers
  ``{"images": [<base64 PNG>], "parameters": {...}, "info": "<JSON string>"}``; ``info`` carries the seed
  (the one asked for, or for ``-1`` one derived from the prompt: ``seed_for``), the prompt and the size.
- ``required_auth = ("user", "password")`` makes it demand HTTP basic auth (``--api-auth``), 401 otherwise.
- ``server.txt2img_requests`` / ``server.img2img_requests`` list the bodies received.

``FakeComfyUI`` (fixture ``fake_comfyui``): ``POST /prompt`` (refuses, as ComfyUI's validation does, a
workflow with a node without ``class_type``, an unfilled ``{{placeholder}}``, or a LoadImage of an image
never uploaded), ``GET /history/{prompt_id}`` (``{}`` for the first ``pending_polls`` polls of a prompt,
then its outputs; mode ``workflow_error`` reports the run as failed), ``GET /view`` and ``POST
/upload/image`` (multipart; ``server.uploads`` maps stored names to bytes). The picture's size is the
EmptyLatentImage node's, its colour comes from the first CLIPTextEncode text.

``FakeOpenAIImages`` (fixture ``fake_openai_images``): ``POST /v1/images/generations`` (``base_url`` ends in
``/v1``) answering ``{"created", "data": [{"b64_json", "revised_prompt"}]}``; ``required_api_key`` makes it
demand ``Authorization: Bearer <key>`` (401 otherwise). Mode ``url`` answers ``data[0].url`` on this server
(served by ``GET /files/{name}``), mode ``foreign_url`` a URL on another host (which must never be fetched).

In a test::

    def test_a_selfie(fake_a1111, ...):
        llm_model_create(name="house-sd", type="sd", provider="automatic1111", base_url=fake_a1111.base_url,
                         is_default=True, timeout_seconds=5)
        ...
        assert fake_a1111.img2img_requests[-1]["init_images"]

(or the ``fake_a1111_model`` fixture, which makes that default image row).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import io
import itertools
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from aiohttp import BasicAuth, web
from PIL import Image

COMMON_MODES = ("ok", "fail", "rate_limited", "bad_request", "slow", "garbage", "not_image")
NOT_AN_IMAGE = b"this is not a picture, only text that claims to be one"
_PLACEHOLDER = re.compile(r"\{\{\s*[A-Za-z_][A-Za-z0-9_]*\s*\}\}")


def colour_for(prompt: str) -> tuple[int, int, int]:
    """The colour the fakes paint a picture of ``prompt`` with."""
    digest = hashlib.sha256(prompt.encode()).digest()
    return digest[0], digest[1], digest[2]


def seed_for(prompt: str) -> int:
    """The seed the fakes report when asked for a random one."""
    return int.from_bytes(hashlib.sha256(prompt.encode()).digest()[4:8], "big")


def solid_png(prompt: str, width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour_for(prompt)).save(out, format="PNG", compress_level=1)
    return out.getvalue()


@dataclass(frozen=True)
class ReceivedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any  # JSON, the multipart fields (files as {"filename", "content_type", "size"}), or text

    @property
    def authorization(self) -> str:
        return self.headers.get("Authorization", "")


class FakeImageServer:
    """What the three fakes share: the thread with its event loop, the modes, the recorded requests."""

    MODES: tuple[str, ...] = COMMON_MODES
    thread_name = "fake-image-server"

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, mode: str = "ok", delay_seconds: float = 5.0):
        self.host = host
        self.port = port
        self._lock = threading.Lock()
        self._requests: list[ReceivedRequest] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self.set_mode(mode, delay_seconds=delay_seconds)

    # -- control -----------------------------------------------------------------------------------------

    def set_mode(self, mode: str, *, delay_seconds: float | None = None) -> None:
        if mode not in self.MODES:
            raise ValueError(f"Unknown mode {mode!r}; one of {', '.join(self.MODES)}.")
        with self._lock:
            self.mode = mode
            if delay_seconds is not None:
                self.delay_seconds = delay_seconds

    def reset(self) -> None:
        """Back to ``ok``, and forget the recorded requests."""
        self.set_mode("ok", delay_seconds=5.0)
        with self._lock:
            self._requests.clear()

    @property
    def requests(self) -> list[ReceivedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def root_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return self.root_url

    # -- lifecycle ---------------------------------------------------------------------------------------

    def build_app(self) -> web.Application:
        raise NotImplementedError

    def start(self):
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

        self._thread = threading.Thread(target=serve, name=self.thread_name, daemon=True)
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

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    async def _bind(self) -> None:
        # handler_cancellation: a client that timed out must not leave a slow handler sleeping on shutdown.
        app = self.build_app()
        self._runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=0.5, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]

    # -- shared handling ---------------------------------------------------------------------------------

    async def _record(self, request: web.Request) -> Any:
        body: Any = None
        if request.content_type.startswith("multipart/"):
            body = {}
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    data = value.file.read()
                    body[key] = {"filename": value.filename, "content_type": value.content_type, "size": len(data)}
                    body.setdefault("_files", {})[key] = data
                else:
                    body[key] = value
        elif request.can_read_body:
            text = await request.text()
            try:
                body = json.loads(text)
            except json.JSONDecodeError:
                body = text
        received = ReceivedRequest(
            method=request.method,
            path=request.path,
            query=dict(request.query),
            headers=dict(request.headers),
            body=body,
        )
        with self._lock:
            self._requests.append(received)
        return body

    def refusal(self, status: int, message: str) -> web.Response:
        """The server's own error body for ``status``."""
        return web.json_response({"error": message}, status=status)

    async def misbehaviour(self) -> web.Response | None:
        """The answer the current mode gives instead of the real one, if any (``slow`` just waits)."""
        mode = self.mode
        if mode == "slow":
            await asyncio.sleep(self.delay_seconds)
        if mode == "fail":
            return self.refusal(500, "Internal Server Error")
        if mode == "rate_limited":
            return self.refusal(429, "Too many requests")
        if mode == "bad_request":
            return self.refusal(400, "The request was refused")
        if mode == "garbage":
            return web.Response(text="<html><body>502 Bad Gateway</body></html>", content_type="text/html")
        return None

    def picture(self, prompt: str, width: int, height: int) -> bytes:
        return NOT_AN_IMAGE if self.mode == "not_image" else solid_png(prompt, width, height)


def _size(value: Any, default: int = 512) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and 8 <= value <= 4096 else default


class FakeAutomatic1111(FakeImageServer):
    """The AUTOMATIC1111 / Forge WebUI API (``--api``)."""

    thread_name = "fake-automatic1111"

    def __init__(self, **kwargs) -> None:
        self.required_auth: tuple[str, str] | None = None
        super().__init__(**kwargs)

    def reset(self) -> None:
        super().reset()
        self.required_auth = None

    @property
    def txt2img_requests(self) -> list[dict]:
        return [r.body for r in self.requests if r.path == "/sdapi/v1/txt2img"]

    @property
    def img2img_requests(self) -> list[dict]:
        return [r.body for r in self.requests if r.path == "/sdapi/v1/img2img"]

    def build_app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/sdapi/v1/txt2img", self._draw)
        app.router.add_post("/sdapi/v1/img2img", self._draw)
        return app

    def refusal(self, status: int, message: str) -> web.Response:
        # FastAPI's shapes: {"detail": ...} for 4xx, the WebUI's {"error", "detail", "body", "errors"} for 500
        if status >= 500:
            body = {"error": "RuntimeError", "detail": "", "body": "", "errors": message}
            return web.json_response(body, status=status)
        return web.json_response({"detail": message}, status=status)

    async def _draw(self, request: web.Request) -> web.Response:
        body = await self._record(request)
        if self.required_auth is not None:
            try:
                given = BasicAuth.decode(request.headers.get("Authorization", ""))
            except ValueError:
                given = None
            if given is None or (given.login, given.password) != self.required_auth:
                return web.json_response({"detail": "Incorrect credentials"}, status=401)
        if refused := await self.misbehaviour():
            return refused
        if not isinstance(body, dict) or not isinstance(body.get("prompt", ""), str):
            return self.refusal(422, [{"loc": ["body", "prompt"], "msg": "str type expected"}])
        if request.path.endswith("img2img"):
            images = body.get("init_images")
            if not isinstance(images, list) or not images:
                return self.refusal(422, [{"loc": ["body", "init_images"], "msg": "field required"}])
            try:
                Image.open(io.BytesIO(base64.b64decode(images[0], validate=True))).verify()
            except (binascii.Error, ValueError, OSError):
                return self.refusal(500, "cannot identify image file")
        prompt = body.get("prompt", "")
        width, height = _size(body.get("width")), _size(body.get("height"))
        seed = body.get("seed", -1)
        if not isinstance(seed, int) or seed == -1:
            seed = seed_for(prompt)
        picture = self.picture(prompt, width, height)
        parameters = {key: value for key, value in body.items() if key != "init_images"}
        info = {
            "prompt": prompt,
            "negative_prompt": body.get("negative_prompt", ""),
            "seed": seed,
            "all_seeds": [seed],
            "width": width,
            "height": height,
            "steps": body.get("steps", 20),
            "cfg_scale": body.get("cfg_scale", 7.0),
            "denoising_strength": body.get("denoising_strength"),
        }
        return web.json_response(
            {"images": [base64.b64encode(picture).decode()], "parameters": parameters, "info": json.dumps(info)}
        )


class FakeComfyUI(FakeImageServer):
    """ComfyUI's HTTP API: queue a workflow, poll its history, fetch its output, upload inputs."""

    MODES = (*COMMON_MODES, "workflow_error")
    thread_name = "fake-comfyui"

    def __init__(self, **kwargs) -> None:
        self.pending_polls = 1
        self.uploads: dict[str, bytes] = {}
        self._jobs: dict[str, dict] = {}
        self._outputs: dict[str, bytes] = {}
        self._numbers = itertools.count(1)
        super().__init__(**kwargs)

    def reset(self) -> None:
        super().reset()
        self.pending_polls = 1
        with self._lock:
            self.uploads.clear()
            self._jobs.clear()
            self._outputs.clear()

    @property
    def queued_workflows(self) -> list[dict]:
        return [r.body["prompt"] for r in self.requests if r.path == "/prompt" and isinstance(r.body, dict)]

    @property
    def history_polls(self) -> int:
        return sum(1 for r in self.requests if r.path.startswith("/history/"))

    def build_app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/prompt", self._prompt)
        app.router.add_get("/history/{prompt_id}", self._history)
        app.router.add_get("/view", self._view)
        app.router.add_post("/upload/image", self._upload)
        return app

    def refusal(self, status: int, message: str) -> web.Response:
        return web.json_response(
            {"error": {"type": "error", "message": message, "details": "", "extra_info": {}}, "node_errors": {}},
            status=status,
        )

    def _invalid(self, workflow: Any) -> str:
        if not isinstance(workflow, dict) or not workflow:
            return "no prompt"
        for node_id, node in workflow.items():
            if not isinstance(node, dict) or "class_type" not in node:
                return f"Node {node_id} has no class_type"
            if _PLACEHOLDER.search(json.dumps(node)):
                return f"Node {node_id} has an unfilled placeholder"
            if node["class_type"] == "LoadImage" and node.get("inputs", {}).get("image") not in self.uploads:
                return f"Node {node_id}: invalid image file {node.get('inputs', {}).get('image')!r}"
        return ""

    async def _prompt(self, request: web.Request) -> web.Response:
        body = await self._record(request)
        if refused := await self.misbehaviour():
            return refused
        problem = self._invalid(body.get("prompt") if isinstance(body, dict) else None)
        if problem:
            return self.refusal(400, problem)
        prompt_id = str(uuid.uuid4())
        with self._lock:
            self._jobs[prompt_id] = {"workflow": body["prompt"], "polls": 0, "number": next(self._numbers)}
        return web.json_response({"prompt_id": prompt_id, "number": self._jobs[prompt_id]["number"], "node_errors": {}})

    async def _history(self, request: web.Request) -> web.Response:
        await self._record(request)
        if refused := await self.misbehaviour():
            return refused
        prompt_id = request.match_info["prompt_id"]
        with self._lock:
            job = self._jobs.get(prompt_id)
            if job is None:
                return web.json_response({})
            job["polls"] += 1
            if job["polls"] <= self.pending_polls:
                return web.json_response({})
        workflow = job["workflow"]
        if self.mode == "workflow_error":
            status = {"status_str": "error", "completed": False, "messages": [["execution_error", {}]]}
            return web.json_response(
                {prompt_id: {"prompt": [job["number"], prompt_id, workflow], "outputs": {}, "status": status}}
            )
        texts = [
            n["inputs"]["text"]
            for n in workflow.values()
            if n.get("class_type") == "CLIPTextEncode" and isinstance(n.get("inputs", {}).get("text"), str)
        ]
        latent = next((n["inputs"] for n in workflow.values() if n.get("class_type") == "EmptyLatentImage"), {})
        filename = f"ComfyUI_{job['number']:05d}_.png"
        with self._lock:
            self._outputs[filename] = self.picture(
                texts[0] if texts else "", _size(latent.get("width")), _size(latent.get("height"))
            )
        save_node = next((key for key, n in workflow.items() if n.get("class_type") == "SaveImage"), "9")
        outputs = {save_node: {"images": [{"filename": filename, "subfolder": "", "type": "output"}]}}
        status = {"status_str": "success", "completed": True, "messages": []}
        return web.json_response(
            {prompt_id: {"prompt": [job["number"], prompt_id, workflow], "outputs": outputs, "status": status}}
        )

    async def _view(self, request: web.Request) -> web.Response:
        await self._record(request)
        if refused := await self.misbehaviour():
            return refused
        filename = request.query.get("filename", "")
        if request.query.get("type", "output") != "output" or filename not in self._outputs:
            return web.Response(status=404)
        return web.Response(body=self._outputs[filename], content_type="image/png")

    async def _upload(self, request: web.Request) -> web.Response:
        body = await self._record(request)
        if refused := await self.misbehaviour():
            return refused
        files = body.get("_files", {}) if isinstance(body, dict) else {}
        if "image" not in files or not body["image"]["filename"]:
            return web.Response(status=400)
        name = body["image"]["filename"]
        with self._lock:
            self.uploads[name] = files["image"]
        return web.json_response({"name": name, "subfolder": body.get("subfolder", ""), "type": "input"})


class FakeOpenAIImages(FakeImageServer):
    """An OpenAI-compatible ``/v1/images/generations``."""

    MODES = (*COMMON_MODES, "url", "foreign_url")
    thread_name = "fake-openai-images"
    FOREIGN_URL = "http://198.51.100.7/elsewhere.png"  # TEST-NET-2: nothing there, and never to be fetched

    def __init__(self, **kwargs) -> None:
        self.required_api_key: str | None = None
        self._files: dict[str, bytes] = {}
        super().__init__(**kwargs)

    def reset(self) -> None:
        super().reset()
        self.required_api_key = None
        with self._lock:
            self._files.clear()

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/v1"

    def build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/images/generations", self._generate)
        app.router.add_get("/files/{name}", self._file)
        return app

    def refusal(self, status: int, message: str) -> web.Response:
        kind = "server_error" if status >= 500 else "invalid_request_error"
        return web.json_response(
            {"error": {"message": message, "type": kind, "param": None, "code": None}}, status=status
        )

    async def _generate(self, request: web.Request) -> web.Response:
        body = await self._record(request)
        if self.required_api_key and request.headers.get("Authorization") != f"Bearer {self.required_api_key}":
            return self.refusal(401, "Incorrect API key provided.")
        if refused := await self.misbehaviour():
            return refused
        if not isinstance(body, dict) or not isinstance(body.get("prompt"), str) or not body["prompt"]:
            return self.refusal(400, "'prompt' is a required property.")
        match = re.fullmatch(r"(\d+)x(\d+)", str(body.get("size", "1024x1024")))
        if not match:
            return self.refusal(400, f"Invalid size {body.get('size')!r}.")
        picture = self.picture(body["prompt"], _size(int(match.group(1))), _size(int(match.group(2))))
        item: dict[str, Any] = {"revised_prompt": body["prompt"]}
        if self.mode == "url":
            name = f"{uuid.uuid4().hex}.png"
            with self._lock:
                self._files[name] = picture
            item["url"] = f"{self.root_url}/files/{name}"
        elif self.mode == "foreign_url":
            item["url"] = self.FOREIGN_URL
        else:
            item["b64_json"] = base64.b64encode(picture).decode()
        return web.json_response({"created": int(time.time()), "data": [item]})

    async def _file(self, request: web.Request) -> web.Response:
        await self._record(request)
        data = self._files.get(request.match_info["name"])
        if data is None:
            return web.Response(status=404)
        return web.Response(body=data, content_type="image/png")
