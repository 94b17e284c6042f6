"""Reading Server-Sent Events off a streamed httpx response, frame by frame, as a browser's EventSource would."""

import json
from collections.abc import Iterator

import httpx


def sse_frames(response: httpx.Response) -> Iterator[tuple[str, dict]]:
    """(event, data) for each frame as it arrives; ``data`` parsed as JSON."""
    event, data = "message", []
    for line in response.iter_lines():
        if line == "":
            if data:
                yield event, json.loads("\n".join(data))
            event, data = "message", []
        elif line.startswith("event:"):
            event = line.removeprefix("event:").strip()
        elif line.startswith("data:"):
            data.append(line.removeprefix("data:").strip())
