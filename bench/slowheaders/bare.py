"""The baseline server of ``bench.slowheaders``: a bare aiohttp app under ``web.run_app``, as
aiohttp serves by default. Run as ``python -m bench.slowheaders.bare PORT``."""

from __future__ import annotations

import sys

from aiohttp import web


async def hello(request: web.Request) -> web.Response:
    return web.Response(text="hello")


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def main(port: int) -> None:
    app = web.Application()
    app.router.add_get("/", hello)
    app.router.add_get("/healthz", healthz)
    web.run_app(app, host="127.0.0.1", port=port, print=None)


if __name__ == "__main__":
    main(int(sys.argv[1]))
