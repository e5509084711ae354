"""The pages, one module per part of the app; each a router of server-rendered pages."""

from __future__ import annotations

from services.web.pages import home, imports, ops, people, plans, reports, submissions, work

ROUTERS = [
    home.router,
    work.router,
    people.router,
    imports.router,
    plans.router,
    reports.router,
    submissions.router,
    ops.router,
]
