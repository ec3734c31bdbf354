"""Any OpenAI-compatible chat-completions endpoint: a hosted API or a local vLLM/llama.cpp/TGI server.

Each prompt is sent as one user message (the server applies the model's chat template) with the
batch's per-prompt seed, temperature, top_p and max_tokens. Requests run on a thread pool of
`concurrency` workers; answers come back in prompt order.

Failures: the `openai` client retries timeouts, dropped connections and 408/409/429/5xx answers
`max_retries` times with exponential backoff (0.5 s doubling up to 8 s, jittered) and honours a
server's Retry-After (up to 2 minutes). A request still failing then, a 4xx answer, or a body that is
not a chat completion fails the whole batch with a one-line UserError; rows written before the batch
are the caller's and stay intact, so the run resumes.

The API key comes from the environment variable OPENAI_API_KEY and goes only into the client's
Authorization header: the generator keeps no copy, its identity (D_a's key and card) holds the URL
and model name only, and the key is masked in any message a server sends back. Local servers
usually want no key; without the variable a placeholder is sent.
"""

from __future__ import annotations

import os
import re
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Callable, Sequence
from urllib.parse import urlsplit

from bias_inheritance.errors import UserError
from generators.backends.base import SamplingSettings, prompt_seeds

API_KEY_ENV = "OPENAI_API_KEY"
NO_KEY = "EMPTY"  # what local servers conventionally accept; the client refuses to send none
_MESSAGE_CHARS = 200
_STATUS_PREFIX = re.compile(r"^Error code: \d+ - ")  # the client's prefix; the status is reported once
_GARBAGE_FIX = "check that --base-url points at an OpenAI-compatible API (it usually ends in /v1)."


@dataclass(frozen=True)
class ApiOptions:
    """How requests are sent. None of it changes the texts, so none of it is part of D_a's key."""

    concurrency: int = 8
    timeout_s: float = 120.0  # per attempt
    max_retries: int = 5

    def validate(self) -> None:
        if self.concurrency < 1:
            raise UserError(f"concurrency must be at least 1 (got {self.concurrency}).", "pass --concurrency 1 or more.")
        if not self.timeout_s > 0:
            raise UserError(f"timeout must be positive (got {self.timeout_s}).", "pass --timeout in seconds, such as 120.")
        if self.max_retries < 0:
            raise UserError(f"max_retries must be 0 or more (got {self.max_retries}).", "pass --max-retries 0 or more.")


def check_base_url(base_url: str | None) -> str:
    """The endpoint's base URL without a trailing slash; it is written into cards, so no secrets."""
    fix = "pass --base-url such as http://127.0.0.1:8000/v1 (the part before /chat/completions)."
    if not base_url or not base_url.strip():
        raise UserError("The openai backend needs the server's address.", fix)
    parts = urlsplit(base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UserError(f"--base-url {base_url.strip()!r} is not an http(s) URL.", fix)
    if parts.username or parts.password or parts.query:
        # The URL is not echoed: it may hold the very secret it must not carry.
        raise UserError("--base-url must not carry credentials or a query string: it is written into every card.",
                        f"put the key in the environment variable {API_KEY_ENV} and pass the bare URL.")
    return base_url.strip().rstrip("/")


def api_identity(base_url: str, model: str) -> dict[str, Any]:
    """What decides an endpoint's texts besides the sampling settings: where, and which model."""
    return {"kind": "api", "base_url": check_base_url(base_url), "model": model}


def _masker(secret: str) -> Callable[[str], str]:
    return (lambda text: text.replace(secret, "***")) if secret else (lambda text: text)


def _one_line(text: str) -> str:
    text = _STATUS_PREFIX.sub("", " ".join(str(text).split()))
    return text if len(text) <= _MESSAGE_CHARS else text[:_MESSAGE_CHARS] + "..."


def _status_fix(status: int) -> str:
    if status in (401, 403):
        return f"set the environment variable {API_KEY_ENV} to a key this endpoint accepts."
    if status == 404:
        return "check --base-url (usually ending in /v1) and --model (GET <base-url>/models lists the served names)."
    if status == 429 or status >= 500:
        return "retry later, lower --concurrency, or raise --max-retries."
    return "check --model and the sampling settings against what this endpoint accepts."


class OpenAICompatGenerator:
    """Chat completions from `model` at `base_url`, `options.concurrency` requests at a time."""

    def __init__(self, base_url: str | None, model: str, sampling: SamplingSettings,
                 options: ApiOptions = ApiOptions()) -> None:
        options.validate()
        if not model or not model.strip():
            raise UserError("The openai backend needs the served model's name.",
                            "pass --model as the server names it (GET <base-url>/models lists them).")
        self.identity = api_identity(base_url, model.strip())
        import openai  # after the checks: a bad setting fails at once (the import takes about a second)

        self.name = self.identity["model"]
        self.base_url = self.identity["base_url"]
        self.sampling = sampling
        self.options = options
        self._errors = openai
        key = os.environ.get(API_KEY_ENV, "").strip()
        self._mask = _masker(key)
        self._client = openai.OpenAI(base_url=self.base_url, api_key=key or NO_KEY,
                                     timeout=options.timeout_s, max_retries=options.max_retries)

    def __repr__(self) -> str:
        return f"OpenAICompatGenerator(base_url={self.base_url!r}, model={self.name!r})"

    def generate(self, prompts: Sequence[str], seed: int) -> list[str]:
        pool = ThreadPoolExecutor(max_workers=self.options.concurrency, thread_name_prefix="openai-compat")
        futures = [pool.submit(self._complete, p, s) for p, s in zip(prompts, prompt_seeds(seed, len(prompts)))]
        try:
            wait(futures, return_when=FIRST_EXCEPTION)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)  # after a failure (or Ctrl-C) send nothing more
        for future in futures:
            if not future.cancelled() and future.exception() is not None:
                raise future.exception()  # the first failure in prompt order
        return [f.result() for f in futures]

    def _complete(self, prompt: str, seed: int) -> str:
        errors = self._errors
        attempts = f"{self.options.max_retries + 1} attempt(s)"
        try:
            completion = self._client.chat.completions.create(
                model=self.name, messages=[{"role": "user", "content": prompt}], seed=seed,
                temperature=self.sampling.temperature if self.sampling.do_sample else 0.0,
                top_p=self.sampling.effective_top_p, max_tokens=self.sampling.max_new_tokens,
            )
        except errors.APITimeoutError:
            raise self._fail(f"did not answer within {self.options.timeout_s:g} s in {attempts}",
                             "raise --timeout, lower --concurrency, or check the server.") from None
        except errors.APIConnectionError:
            raise self._fail(f"could not be reached in {attempts}", "start the server, or check --base-url.") from None
        except errors.APIStatusError as err:
            raise self._fail(f"answered HTTP {err.status_code}: {_one_line(err.message)}", _status_fix(err.status_code)) from None
        except (ValueError, errors.APIResponseValidationError):
            raise self._fail("answered with a body that is not JSON", _GARBAGE_FIX) from None
        return self._text(completion)

    def _text(self, completion: Any) -> str:
        """The first choice's text; a missing message is garbage, a null content (a refusal) is ""."""
        try:
            message = completion.choices[0].message
        except (AttributeError, IndexError, KeyError, TypeError):
            message = None
        if message is None:
            raise self._fail("answered without choices[0].message (not a chat completion)", _GARBAGE_FIX)
        content = getattr(message, "content", None)
        return content.strip() if isinstance(content, str) else ""

    def _fail(self, problem: str, fix: str) -> UserError:
        return UserError(self._mask(f"The endpoint {self.base_url} (model {self.name}) {problem}."), fix)
