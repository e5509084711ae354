"""Composition of the reporting service."""

from __future__ import annotations

from shared.service import ServiceSpec


def spec() -> ServiceSpec:
    """Everything the reporting service is made of."""
    return ServiceSpec(
        name="reporting",
        title="Reporting: indicators and periodic reports",
        description="Projections of every topic: quota progress, post-rehab coverage, access, methadone, overdue.",
    )
