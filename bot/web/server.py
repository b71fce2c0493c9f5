"""The bot's one HTTP server: the read-only site and feeds, /healthz and /readyz, and routes
that adapters contribute (Slack's /slack/events in HTTP mode), in one aiohttp application.

    app = build_app(site, health=runtime.health, ready=lambda: runtime.ready, extra_routes=...)
    server = WebServer(app, host, port); url = await server.start(); ...; await server.stop()

Every response carries security headers: a Content-Security-Policy that allows no script at
all (the site needs none: "Read more" is `<details>`), no framing and no referrer. With
WEB_ACCESS_TOKEN set, the pages and feeds need `Authorization: Bearer <token>` or
`?token=<token>`; health, readiness, the stylesheet, the signed-link actions (their signature
or token is the permission) and adapters' routes (a platform signs its own requests) do not.

/metrics (when the runtime passes its `Metrics`) answers Prometheus' text format and is open
too, like /healthz: Prometheus scrapes without credentials, and the numbers carry no content
(counts, durations, source names). A deployment that exposes the port publicly should route
only the site through its proxy (see the README's Deployment section).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable, Sequence
from importlib import resources
from pathlib import Path

from aiohttp import web
from aiohttp.typedefs import Middleware

from bot.core.metrics import CONTENT_TYPE, Metrics
from bot.ports import HealthCheck
from bot.web import feeds, pages
from bot.web.pages import SITE_KEY, Site

log = logging.getLogger(__name__)

STOP_TIMEOUT = 10.0
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}
# Reachable without the access token (see the module docstring).
OPEN_PATHS = frozenset({"/healthz", "/readyz", "/metrics", "/unsubscribe", "/email/confirm"})
OPEN_PREFIXES = ("/static/",)
OPEN_ROUTES: web.AppKey[frozenset[str]] = web.AppKey("open_routes", frozenset)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def static_dir() -> Path:
    """The folder of the stylesheet (inside the package)."""
    return Path(str(resources.files("bot.web").joinpath("static")))


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)


def token_middleware(token: str) -> Middleware:
    """Require the access token on every path that is not open (constant-time comparison)."""

    @web.middleware
    async def require_token(request: web.Request, handler: Handler) -> web.StreamResponse:
        route = request.match_info.route.resource.canonical if request.match_info.route.resource else ""
        if request.path in OPEN_PATHS or request.path.startswith(OPEN_PREFIXES) or route in request.app[OPEN_ROUTES]:
            return await handler(request)
        header = request.headers.get("Authorization", "")
        given = header[7:].strip() if header.lower().startswith("bearer ") else request.query.get("token", "")
        if given and hmac.compare_digest(given.encode(), token.encode()):
            return await handler(request)
        return web.Response(
            status=401, text="This paperbot site needs its access token (Authorization: Bearer, or ?token=).\n",
            headers={"WWW-Authenticate": 'Bearer realm="paperbot"'},
        )

    return require_token


@web.middleware
async def _html_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A readable page (not aiohttp's plain text) for a path or method the site does not have."""
    try:
        return await handler(request)
    except web.HTTPNotFound:
        return pages.not_found(request)
    except web.HTTPMethodNotAllowed:
        return pages.message(request, "Not allowed", "This page cannot be used that way.", status=405)


def build_app(
    site: Site,
    *,
    health: HealthCheck,
    ready: Callable[[], bool],
    extra_routes: Sequence[web.AbstractRouteDef] = (),
    metrics: Metrics | None = None,
) -> web.Application:
    """The application: health, readiness, metrics (when given), feeds, pages, the stylesheet,
    adapters' routes."""
    token = site.settings.web_access_token.get_secret_value()
    middlewares: list[Middleware] = [_html_errors]
    if token:
        middlewares.append(token_middleware(token))
    app = web.Application(middlewares=middlewares)
    app[SITE_KEY] = site
    app.on_response_prepare.append(_security_headers)

    async def healthz(request: web.Request) -> web.Response:
        report = health()
        return web.json_response(report, status=200 if report.get("ok", True) else 503)

    async def readyz(request: web.Request) -> web.Response:
        is_ready = ready() and site.store.healthy()
        return web.json_response({"ready": is_ready}, status=200 if is_ready else 503)

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    if metrics is not None:

        async def metrics_page(request: web.Request) -> web.Response:
            response = web.Response(body=metrics.exposition())
            response.headers["Content-Type"] = CONTENT_TYPE
            return response

        app.router.add_get("/metrics", metrics_page)
    feeds.add_routes(app)
    pages.add_routes(app)
    app.router.add_static("/static/", static_dir(), name="static")
    added = app.add_routes(extra_routes)
    app[OPEN_ROUTES] = frozenset(route.resource.canonical for route in added if route.resource is not None)
    return app


class WebServer:
    """Serves one application on HOST:PORT until stopped (port 0: any free port)."""

    def __init__(self, app: web.Application, host: str, port: int) -> None:
        self.app = app
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        """The address the server answers on (the bound port once started)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    async def start(self) -> str:
        """Bind and serve; returns the URL. Raises OSError when the address is taken."""
        self._runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=STOP_TIMEOUT)
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, self.host, self.port).start()
        except OSError:
            await self._runner.cleanup()
            self._runner = None
            raise
        addresses = self._runner.addresses
        if addresses:
            self.port = int(addresses[0][1])
        return self.url

    async def stop(self) -> None:
        """Finish requests in flight (up to STOP_TIMEOUT) and close the socket."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
