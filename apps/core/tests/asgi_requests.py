"""One HTTP request through the real ASGI application (``config.asgi``), for tests of what the handler stacks
and middleware do before any view: which stack a request takes, CORS preflights, size limits."""

from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator

from config.asgi import application


def asgi_request(
    method: str, path: str, headers: list[tuple[bytes, bytes]], body: bytes = b"", host: bytes = b"testserver"
) -> tuple[int, dict[bytes, bytes], bytes]:
    """The response's status, headers (names lower-cased) and whole body."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", host), *headers],
        "client": ("127.0.0.1", 50000),
        "server": (host.decode(), 80),
    }

    async def call():
        communicator = ApplicationCommunicator(application, scope)
        await communicator.send_input({"type": "http.request", "body": body, "more_body": False})
        start = await communicator.receive_output(10)
        content = b""
        while True:
            message = await communicator.receive_output(10)
            content += message.get("body", b"")
            if not message.get("more_body"):
                break
        await communicator.wait(10)
        return start["status"], {name.lower(): value for name, value in start["headers"]}, content

    return async_to_sync(call)()
