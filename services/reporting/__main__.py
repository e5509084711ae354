"""Run the reporting service: `python -m services.reporting`."""

from services.reporting.app import spec
from services.topology import PORTS
from shared.runtime.runner import run

if __name__ == "__main__":
    run("reporting", spec, PORTS["reporting"])
