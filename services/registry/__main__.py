"""Run the registry service: `python -m services.registry`."""

from services.registry.app import spec
from services.topology import PORTS
from shared.runtime.runner import run

if __name__ == "__main__":
    run("registry", spec, PORTS["registry"])
