"""Server-sent events: the page is told when something changed and fetches only the part it shows.

One stream per open tab. The server reads a small change marker (the newest run, the latest
finish, the live runs' states and progress, the latest alert) every ``interval`` seconds and
sends ``change`` when it moves. A stream ends after ``lifetime`` seconds and the browser's
EventSource reconnects by itself, so a restarted server or a sleeping laptop heals.

Every event carries the marker as its id. A reconnecting browser sends it back
(``Last-Event-ID``) and hears ``change`` at once if anything moved while it was away. A first
connection hears ``hello``, on which the page fetches its parts once: a run that finished between
the page's render and the stream's opening is shown, not missed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from acas_batch.services.run_board import change_marker
from acas_batch.web.common import ActorDep, context

router = APIRouter()


@router.get("/live/events")
async def events(
    request: Request, actor: ActorDep, interval: float = 1.0, lifetime: float = 120.0
) -> StreamingResponse:
    web = context(request)
    engine = web.engine
    # Asked once before the stream opens, so a refusal is a 403, not a broken stream.
    await anyio.to_thread.run_sync(lambda: change_marker(engine, actor=actor, now=web.now))
    interval = min(max(interval, 0.25), 10.0)
    lifetime = min(max(lifetime, 1.0), 600.0)

    async def stream() -> AsyncIterator[str]:
        yield "retry: 2000\n\n"
        last = request.headers.get("last-event-id") or None
        first = last is None
        waited = 0.0
        while waited < lifetime:
            if await request.is_disconnected():
                return
            marker = await anyio.to_thread.run_sync(lambda: change_marker(engine, actor=actor, now=web.now))
            if first:
                kind, first = "hello", False
            else:
                kind = "change" if marker != last else "tick"
            last = marker
            yield f"id: {marker}\nevent: {kind}\ndata: {marker}\n\n"
            await anyio.sleep(interval)
            waited += interval

    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)
