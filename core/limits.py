"""Request limits: a body over 5 MB, or an API batch over 1,000 records, is refused with 413 and
a message that says what the limit is, before anything is parsed or written; text with a NUL
character (which no database column can hold) is refused with 422. A chunked body (no
Content-Length) is refused with 411: WSGI servers such as gunicorn hand Django no length for
it, so Django would read it as empty and the size limit could not apply."""

from __future__ import annotations

import re
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse

MAX_RECORDS = 1000


def refused(request: HttpRequest, message: str, status: int) -> HttpResponse:
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


# A JSON "\u0000" escape that is not itself escaped ("\\u0000" is a backslash and text).
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


def has_nul(request: HttpRequest) -> bool:
    """Whether the query string or a JSON body carries a NUL character."""
    texts = [text for key, values in request.GET.lists() for text in (key, *values)]
    if any("\x00" in text for text in texts):
        return True
    if request.content_type == "application/json" and request.method in ("POST", "PUT", "PATCH"):
        return bool(_JSON_NUL.search(request.body)) or b"\x00" in request.body
    return False


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
            nul = request.path.startswith("/api/") and has_nul(request)
        except RequestDataTooBig:
            return too_large(request, _body_message())
        if nul:
            message = "Text may not contain the NUL character (\\u0000)."
            return JsonResponse({"detail": message}, status=422)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, RequestDataTooBig):
            return too_large(request, _body_message())
        return None
