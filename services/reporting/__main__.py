"""Run the reporting service: `python -m services.reporting`."""

from services.reporting.app import spec
from shared.runner import run

if __name__ == "__main__":
    run("reporting", spec)
