"""The production assets: manifests parse, probes and resources are set, and every setting the code reads is set."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from shared.settings import PlatformSettings, _ServiceEnv

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SERVICES = ("registry", "cases", "quotas", "reporting")


def documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]


def manifests() -> list[dict[str, Any]]:
    return [d for p in sorted((DEPLOY / "k8s").glob("*.yaml")) for d in documents(p)]


def platform_variables() -> set[str]:
    return {f"REHAB_{name.upper()}" for name in PlatformSettings.model_fields}


def service_variables(service: str) -> set[str]:
    """What a service needs set in production: its address, database role and password (and the PII key)."""
    wanted = {"http_host", "http_port", "db_user", "db_password"} | ({"pii_key"} if service == "registry" else set())
    assert wanted <= set(_ServiceEnv.model_fields), "a setting the manifests must provide was renamed"
    return {f"REHAB_{service.upper()}_{name.upper()}" for name in wanted}


def test_every_manifest_is_a_well_formed_kubernetes_object() -> None:
    objects = manifests()
    assert {o["kind"] for o in objects} >= {
        "Namespace",
        "ConfigMap",
        "Secret",
        "Job",
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
    }
    for o in objects:
        assert o["apiVersion"] and o["metadata"]["name"], o


@pytest.mark.parametrize("service", SERVICES)
def test_each_deployment_has_probes_resources_and_every_setting(service: str) -> None:
    objects = manifests()
    [deployment] = [o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == service]
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert container["args"] == [f"services.{service}"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
    assert container["resources"]["requests"]["cpu"] and container["resources"]["limits"]["memory"]
    sources = {ref.get("configMapRef", ref.get("secretRef"))["name"] for ref in container["envFrom"]}
    provided = {e["name"] for e in container.get("env", [])}
    for o in objects:
        if o["kind"] in ("ConfigMap", "Secret") and o["metadata"]["name"] in sources:
            provided |= set(o.get("data", {})) | set(o.get("stringData", {}))
    missing = (platform_variables() | service_variables(service)) - provided
    assert not missing, f"{service} does not get {sorted(missing)}"


def test_topics_are_replicated_three_times_with_two_in_sync() -> None:
    [config] = [o for o in manifests() if o["kind"] == "ConfigMap"]
    assert config["data"]["REHAB_TOPIC_REPLICATION"] == "3"
    assert config["data"]["REHAB_TOPIC_MIN_INSYNC_REPLICAS"] == "2"


def test_stateless_services_scale_and_the_rebuilding_one_does_not() -> None:
    scaled = {o["spec"]["scaleTargetRef"]["name"] for o in manifests() if o["kind"] == "HorizontalPodAutoscaler"}
    assert scaled == {"registry", "cases", "quotas"}


@pytest.mark.parametrize("service", SERVICES)
def test_compose_sets_every_setting_too(service: str) -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    brokers = [name for name in compose["services"] if name.startswith("kafka-")]
    assert len(brokers) == 3
    env = compose["services"][service]["environment"]
    missing = (platform_variables() | service_variables(service)) - set(env)
    assert not missing, f"compose does not set {sorted(missing)} for {service}"


def test_the_dashboard_uses_metrics_the_services_export() -> None:
    dashboard = json.loads((DEPLOY / "grafana" / "rehab-dashboard.json").read_text(encoding="utf-8"))
    exprs = " ".join(t["expr"] for p in dashboard["panels"] for t in p["targets"])
    for metric in (
        "rehab_post_rehab_coverage_ratio",
        "rehab_quota_attainment_ratio",
        "rehab_consumer_lag",
        "rehab_outbox_backlog",
        "rehab_dlq_messages_total",
    ):
        assert metric in exprs


def test_a_bootstrap_list_reaches_the_broker_client_as_a_list() -> None:
    # FastStream took "k1:9092,k2:9092,k3:9092" for a single host name; the three-broker fault test found it.
    settings = PlatformSettings(kafka_bootstrap="kafka-1:9092, kafka-2:9092,kafka-3:9092,")
    assert settings.kafka_servers == ["kafka-1:9092", "kafka-2:9092", "kafka-3:9092"]
