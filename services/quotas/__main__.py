"""Run the quotas service: `python -m services.quotas`."""

from services.quotas.app import spec
from services.topology import PORTS
from shared.runtime.runner import run

if __name__ == "__main__":
    run("quotas", spec, PORTS["quotas"])
