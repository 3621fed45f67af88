"""``/docs`` that works offline: Swagger UI served from an installed package, not a CDN.

FastAPI's default ``/docs`` page loads its script and stylesheet from a CDN, so on a machine
without internet (the usual place for a model server) it renders blank. The ``swagger-ui-bundle``
package ships those files; they are served from ``/docs/assets`` (FastAPI's "self-hosting
JavaScript and CSS for docs" recipe).
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

__all__ = ["add_offline_docs", "DOCS_ASSETS"]

DOCS_ASSETS = "/docs/assets"


def add_offline_docs(app: FastAPI) -> None:
    """Serve ``/docs`` and its assets from this machine (the app is made with ``docs_url=None``)."""
    from swagger_ui_bundle import swagger_ui_path

    app.mount(DOCS_ASSETS, StaticFiles(directory=swagger_ui_path), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=app.openapi_url or "/openapi.json", title=f"{app.title} — docs",
                                   swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
                                   swagger_favicon_url=f"{DOCS_ASSETS}/favicon-32x32.png")
