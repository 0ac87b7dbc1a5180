"""Request limits: a body over 5 MB, or an API batch over 1,000 records, is refused with 413 and
a message that says what the limit is, before anything is parsed or written; text that no
database column can hold (a NUL character in a query string or a JSON body, a lone surrogate in
a JSON body) is refused with 422. A chunked body (no Content-Length) is refused with 411: WSGI
servers such as gunicorn hand Django no length for it, so Django would read it as empty and the
size limit could not apply."""

from __future__ import annotations

import re
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse

MAX_RECORDS = 1000


def refused(request: HttpRequest, message: str, status: int = 422) -> HttpResponse:
    """The answer to a request refused before anything reads it: JSON for the API, text
    elsewhere (422 by default: input that no database column can hold)."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=status)
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


def too_large(request: HttpRequest, message: str) -> HttpResponse:
    return refused(request, message, 413)


CHUNKED_MESSAGE = "Send the body with a Content-Length header: chunked bodies are not accepted."


def is_chunked(request: HttpRequest) -> bool:
    return "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()


def _body_message() -> str:
    megabytes = settings.DATA_UPLOAD_MAX_MEMORY_SIZE // (1024 * 1024)
    return f"The request body is larger than {megabytes} MB; send fewer records a request."


NUL = "Text may not contain the NUL character (\\u0000)."
SURROGATE = (
    "Text may not contain a lone surrogate (\\ud800 to \\udfff without its pair), which is "
    "not a character."
)
# Every escape of a JSON body, read left to right so that an escaped backslash is one escape.
_ESCAPE = re.compile(rb"\\(?:u([0-9a-fA-F]{4})|.)", re.DOTALL)
# A surrogate written as raw (invalid) UTF-8, which json.loads lets through.
_RAW_SURROGATE = re.compile(rb"\xed[\xa0-\xbf]")


def _json_text_problem(body: bytes) -> str | None:
    """Why a JSON body carries text no database column can hold (a NUL, a lone surrogate)."""
    high_ends_at = None  # where the escape of a high surrogate ended, waiting for its pair
    for escape in _ESCAPE.finditer(body):
        code = int(escape[1], 16) if escape[1] else None
        low = code is not None and 0xDC00 <= code <= 0xDFFF
        if high_ends_at is not None:
            if not (low and escape.start() == high_ends_at):
                return SURROGATE
            high_ends_at = None
        elif code == 0:
            return NUL
        elif code is not None and 0xD800 <= code <= 0xDBFF:
            high_ends_at = escape.end()
        elif low:
            return SURROGATE
    if high_ends_at is not None or _RAW_SURROGATE.search(body):
        return SURROGATE
    return NUL if b"\x00" in body else None


def text_problem(request: HttpRequest) -> str | None:
    """Why the query string (any page) or a JSON body (the API) carries text that no database
    column can hold, or None."""
    texts = [text for key, values in request.GET.lists() for text in (key, *values)]
    if any("\x00" in text for text in texts):
        return NUL
    if (
        request.path.startswith("/api/")
        and request.content_type == "application/json"
        and request.method in ("POST", "PUT", "PATCH")
    ):
        return _json_text_problem(request.body)
    return None


class BodyLimitMiddleware:
    """411 for a chunked body; 413 for a declared length over the limit, or a body that turns
    out too big as it is read."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if is_chunked(request):
            return refused(request, CHUNKED_MESSAGE, 411)
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            return too_large(request, _body_message())
        try:
            problem = text_problem(request)
        except RequestDataTooBig:
            return too_large(request, _body_message())
        if problem is not None:
            return refused(request, problem)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, RequestDataTooBig):
            return too_large(request, _body_message())
        return None
