"""The system's shape: its services, the port each listens on by default, the topic each writes and reads.

The kernel (`shared/`) knows none of this; the services, the platform steps (services/platform.py) and the
`rehab` command line read it from here. Topic names are logical: a deployment maps `rehab.` to its prefix
(`PlatformSettings.topic`).
"""

from __future__ import annotations

from shared.runtime.kafka_access import Grant

REGISTRY_TOPIC = "rehab.registry.events"
CASES_TOPIC = "rehab.cases.events"
QUOTAS_TOPIC = "rehab.quotas.events"
REPORTS_TOPIC = "rehab.reports.events"  # the report cycle (submitted, returned, approved, reopened)
ALL_TOPICS = (REGISTRY_TOPIC, CASES_TOPIC, QUOTAS_TOPIC)  # the record topics reporting folds into its facts
EVERY_TOPIC = (*ALL_TOPICS, REPORTS_TOPIC)  # every topic the platform creates

PORTS = {"registry": 8001, "cases": 8002, "quotas": 8003, "reporting": 8004}

# Who may do what on Kafka (shared/runtime/kafka_access.py applies it): each service writes its own topic
# and the dead-letter topics of what it reads.
GRANTS = (
    Grant("registry", REGISTRY_TOPIC, ()),
    Grant("cases", CASES_TOPIC, (REGISTRY_TOPIC,)),
    Grant("quotas", QUOTAS_TOPIC, ()),
    Grant("reporting", REPORTS_TOPIC, ALL_TOPICS),
)
