"""The pages, one module per part of the app; each a router of server-rendered pages."""

from __future__ import annotations

from services.web.pages import home, imports, ops, people, plans, reports, work

ROUTERS = [home.router, work.router, people.router, imports.router, plans.router, reports.router, ops.router]
