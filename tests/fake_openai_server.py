"""A local stand-in for an OpenAI-compatible chat-completions server, for tests and benchmarks.

It listens on 127.0.0.1 at a free port, serves POST /v1/chat/completions from a daemon thread
(one thread per connection) and answers each request by the next behaviour of its schedule (then
"ok"), in arrival order:
  ok          200 with `reply_text(prompt, seed)`, after `latency_s`
  slow        the same, after `slow_s`
  500         an internal error, no Retry-After (the client backs off exponentially)
  429         rate-limited, with `Retry-After: retry_after_s`
  drop        reads the request and closes the connection without a byte of answer
  garbage     200 "application/json" with a body that is not JSON
  html        200 "text/html" with a proxy's error page
  no_choices  200 with JSON that has no `choices`
  echo_auth   401 whose message repeats the Authorization header (a careless server)
It records every request (body, behaviour, arrival time, Authorization header) and the most
requests it ever had in flight at once.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterable

BEHAVIOURS = ("ok", "slow", "500", "429", "drop", "garbage", "html", "no_choices", "echo_auth")
PATH = "/v1/chat/completions"


def reply_text(prompt: str, seed: Any) -> str:
    """The deterministic completion of a prompt: tests compute what each prompt must get back."""
    return f"Biography for <{prompt}> (seed {seed})"


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a handler still sleeping for a client that gave up never blocks shutdown
    request_queue_size = 128  # the default backlog of 5 drops simultaneous connects (1 s SYN retry)

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that timed out and closed its socket is expected


class FakeOpenAIServer:
    """Use as a context manager; `url` is the base_url a client needs (it ends in /v1)."""

    def __init__(self, schedule: Iterable[str] = (), latency_s: float = 0.0, slow_s: float = 1.0,
                 retry_after_s: float = 0.05, reply: Callable[[str, Any], str] = reply_text) -> None:
        self.schedule = list(schedule)
        self.reply = reply  # the completion of an "ok" request: reply(prompt, seed)
        unknown = set(self.schedule) - set(BEHAVIOURS)
        if unknown:
            raise ValueError(f"unknown behaviours {sorted(unknown)}; known: {BEHAVIOURS}")
        self.latency_s, self.slow_s, self.retry_after_s = latency_s, slow_s, retry_after_s
        self.requests: list[dict[str, Any]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._httpd = _Server(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def __enter__(self) -> "FakeOpenAIServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def _next(self, body: dict, authorization: str | None) -> str:
        with self._lock:
            behaviour = self.schedule.pop(0) if self.schedule else "ok"
            self.requests.append({"body": body, "behaviour": behaviour, "at": time.monotonic(),
                                  "authorization": authorization})
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        return behaviour

    def _done(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _finish(self) -> None:
                """Leave the in-flight count before the reply goes out: a client may send its next
                request the moment it has this one's answer."""
                if getattr(self, "_counted", False):
                    self._counted = False
                    server._done()

            def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None,
                      content_type: str = "application/json") -> None:
                self._finish()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def _error(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
                self._send(status, json.dumps({"error": {"message": message, "type": "fake"}}).encode(), headers)

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path != PATH:
                    return self._error(404, f"no route {self.path}")
                body = json.loads(raw)
                behaviour = server._next(body, self.headers.get("Authorization"))
                self._counted = True
                try:
                    self._answer(behaviour, body)
                finally:
                    self._finish()

            def _answer(self, behaviour: str, body: dict) -> None:
                if behaviour == "drop":
                    self.close_connection = True
                    return
                if behaviour == "500":
                    return self._error(500, "internal error")
                if behaviour == "429":
                    return self._error(429, "rate limited", {"Retry-After": str(server.retry_after_s)})
                if behaviour == "echo_auth":
                    return self._error(401, f"invalid key in header {self.headers.get('Authorization')}")
                if behaviour == "garbage":
                    return self._send(200, b"{'choices': [")
                if behaviour == "html":
                    return self._send(200, b"<html>502 Bad Gateway</html>", content_type="text/html")
                if behaviour == "no_choices":
                    return self._send(200, json.dumps({"id": "x", "object": "chat.completion"}).encode())
                time.sleep(server.slow_s if behaviour == "slow" else server.latency_s)
                text = server.reply(body["messages"][-1]["content"], body.get("seed"))
                self._send(200, json.dumps({
                    "id": f"chatcmpl-fake-{len(server.requests)}", "object": "chat.completion", "created": 0,
                    "model": body.get("model"),
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 1, "completion_tokens": len(text.split()), "total_tokens": 1 + len(text.split())},
                }).encode())

        return Handler
