"""The review page's ASGI app (Starlette): static page, JSON of the cards, thumbnails, three writes.

Safety: every API call needs the session token (header ``X-Review-Token``; thumbnails take it as
``?t=``); every write also needs an ``Origin`` equal to the page's own (a POST from another site, or
one without an Origin, gets 403 and changes nothing); the ``Host`` header must name this server (no
DNS rebinding; checked when serving on loopback); ids in URLs must be ids of the dataset (no paths).
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from langir.describe import human as store
from langir.describe.ledger import Ledger
from langir.errors import LangirError
from langir.review import thumbs
from langir.review.index import ReviewIndex

PAGE_SIZE = 48
MAX_PAGE = 200
STATIC = {"index.html": "text/html; charset=utf-8", "review.css": "text/css; charset=utf-8",
          "review.js": "text/javascript; charset=utf-8"}
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
       "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


@dataclass
class ReviewState:
    """What the app serves: one dataset's index, its writable ledger, the session token."""

    index: ReviewIndex
    ledger: Ledger
    token: str
    hosts: set[str] | None  # accepted Host header values (host:port); None: any (served beyond loopback)


def _static(name: str) -> bytes:
    return resources.files("langir.review").joinpath("static", name).read_bytes()


def _forbidden(why: str) -> JSONResponse:
    return JSONResponse({"error": why}, status_code=403)


class _Guard:
    """The checks every API call passes: Host (no DNS rebinding), token, and for writes the Origin."""

    def __init__(self, state: ReviewState):
        self.state = state

    def host_ok(self, request: Request) -> bool:
        return self.state.hosts is None or request.headers.get("host", "") in self.state.hosts

    def token_ok(self, request: Request) -> bool:
        given = request.headers.get("x-review-token") or request.query_params.get("t") or ""
        return hmac.compare_digest(given.encode(), self.state.token.encode())

    def read(self, request: Request) -> JSONResponse | None:
        """None when the request may read, else the 403 to send."""
        if not self.host_ok(request):
            return _forbidden("unknown Host")
        if not self.token_ok(request):
            return _forbidden("missing or wrong access token: open the URL langir review printed")
        return None

    def write(self, request: Request) -> JSONResponse | None:
        """None when the request may write (same origin, same site), else the 403 to send."""
        refused = self.read(request)
        if refused is not None:
            return refused
        origin = request.headers.get("origin")
        if origin is None or origin != f"http://{request.headers.get('host', '')}":
            return _forbidden("cross-origin write refused")
        if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
            return _forbidden("cross-site write refused")
        return None


class _Routes:
    """One handler per route (API handlers are async: the ledger stays on the loop's thread)."""

    def __init__(self, state: ReviewState):
        self.state, self.guard = state, _Guard(state)

    def sample(self, request: Request, write: bool = False) -> tuple[str, Response | None]:
        """The request's sample id, and the response refusing it (guard first, then an unknown id) or None."""
        refused = self.guard.write(request) if write else self.guard.read(request)
        sample_id = request.path_params["sample_id"]
        if refused is None and sample_id not in self.state.index.rows:
            refused = JSONResponse({"error": "unknown id"}, status_code=404)
        return sample_id, refused

    async def page(self, request: Request) -> Response:
        if not self.guard.host_ok(request):
            return _forbidden("unknown Host")
        return Response(_static("index.html"), media_type=STATIC["index.html"], headers={"Content-Security-Policy": CSP})

    async def static(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name not in STATIC:
            return Response("not found", status_code=404)
        return Response(_static(name), media_type=STATIC[name], headers={"Cache-Control": "no-cache"})

    async def cards(self, request: Request) -> Response:
        refused = self.guard.read(request)
        if refused is not None:
            return refused
        index = self.state.index
        params = dict(request.query_params)
        ids = index.select(params)
        try:
            offset = max(0, int(params.get("offset", 0)))
            limit = min(MAX_PAGE, max(1, int(params.get("limit", PAGE_SIZE))))
        except ValueError:
            return JSONResponse({"error": "offset and limit must be numbers"}, status_code=400)
        if params.get("id") in index.rows and params["id"] in ids:  # open the page holding this id
            offset = ids.index(params["id"]) // limit * limit
        page_ids = ids[offset: offset + limit]
        return JSONResponse({"total": len(ids), "offset": offset, "limit": limit, "dataset": index.ds.root.name,
                             "items": [index.card(i) for i in page_ids], "facets": index.facets()})

    async def card(self, request: Request) -> Response:
        sample_id, refused = self.sample(request)
        if refused is not None:
            return refused
        return JSONResponse(self.state.index.card(sample_id))

    def thumb(self, request: Request) -> Response:  # sync: rendered in the thread pool, touches no ledger
        sample_id, refused = self.sample(request)
        if refused is not None:
            return refused
        try:
            data = thumbs.thumbnail(self.state.index.ds, sample_id, self.state.index.cache_dir)
        except LangirError as error:
            return Response(str(error), status_code=422, media_type="text/plain")
        return Response(data, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})

    async def write(self, request: Request) -> Response:
        sample_id, refused = self.sample(request, write=True)
        if refused is not None:
            return refused
        try:
            body: dict[str, Any] = json.loads(await request.body() or b"{}")
        except ValueError:
            return JSONResponse({"error": "body is not JSON"}, status_code=400)
        try:
            refused = _apply(self.state, request.path_params["action"], sample_id, body)
        except LangirError as error:
            return JSONResponse({"error": str(error)}, status_code=400)
        return refused or JSONResponse(self.state.index.card(sample_id))


def _apply(state: ReviewState, action: str, sample_id: str, body: dict[str, Any]) -> JSONResponse | None:
    """One write (save a text, accept it, queue a re-ask); None when done, else the error to send."""
    index, ledger = state.index, state.ledger
    if action == "save":
        store.save_text(index.ds, ledger, sample_id, str(body.get("text", "")))
        index.rejudge(sample_id, ledger)
    elif action == "accept":
        text = index.rows[sample_id]["description"]
        if not text:
            return JSONResponse({"error": "no text to accept"}, status_code=400)
        store.accept(ledger, sample_id, text)
        index.rows[sample_id]["accepted"] = True
    elif action == "redo":
        store.queue_redo(ledger, sample_id)
        index.rows[sample_id]["queued"] = True
    else:
        return JSONResponse({"error": "unknown action"}, status_code=404)
    return None


def build_app(state: ReviewState) -> Starlette:
    """The Starlette app over `state`."""
    routes = _Routes(state)
    return Starlette(routes=[
        Route("/", routes.page),
        Route("/static/{name}", routes.static),
        Route("/api/cards", routes.cards),
        Route("/api/card/{sample_id}", routes.card),
        Route("/api/card/{sample_id}/{action}", routes.write, methods=["POST"]),
        Route("/thumb/{sample_id}", routes.thumb),
    ])
