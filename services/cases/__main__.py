"""Run the cases service: `python -m services.cases`."""

from services.cases.app import spec
from services.topology import PORTS
from shared.runtime.runner import run

if __name__ == "__main__":
    run("cases", spec, PORTS["cases"])
