"""python -m services.web: the officials' web app on port 8000."""

from __future__ import annotations

import uvicorn

from services.web.app import create_app
from services.web.settings import WebSettings
from shared.base.logs import configure_logging


def main() -> None:
    settings = WebSettings()
    configure_logging("web", settings.log_level, settings.log_json)
    uvicorn.run(
        create_app(settings), host=settings.http_host, port=settings.http_port, log_config=None, proxy_headers=True
    )


if __name__ == "__main__":
    main()
