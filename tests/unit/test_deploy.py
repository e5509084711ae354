"""The production assets: manifests parse, probes and resources are set, and every setting the code reads is set."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.registry.settings import RegistrySettings
from services.web.settings import WebSettings
from shared.base.settings import PlatformSettings, _ServiceEnv

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SERVICES = ("registry", "cases", "quotas", "reporting")


def documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]


def manifests() -> list[dict[str, Any]]:
    return [d for p in sorted((DEPLOY / "k8s").glob("*.yaml")) for d in documents(p)]


ADMIN_IDENTITY = {"REHAB_KAFKA_USERNAME", "REHAB_KAFKA_PASSWORD"}  # the platform job's, never a service's


def platform_variables() -> set[str]:
    """What every service needs set: every shared setting but the Kafka admin's credentials."""
    return {f"REHAB_{name.upper()}" for name in PlatformSettings.model_fields} - ADMIN_IDENTITY


def service_variables(service: str) -> set[str]:
    """What a service needs set in production: its address, database and Kafka users and passwords (PII key)."""
    wanted = {"http_host", "http_port", "db_user", "db_password", "kafka_username", "kafka_password"}
    assert wanted <= set(_ServiceEnv.model_fields), "a setting the manifests must provide was renamed"
    own = {"pii_key"} if service == "registry" else set()
    assert own <= set(RegistrySettings.model_fields), "a registry setting the manifests must provide was renamed"
    return {f"REHAB_{service.upper()}_{name.upper()}" for name in wanted | own}


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


def config_map() -> dict[str, str]:
    [config] = [o for o in manifests() if o["kind"] == "ConfigMap"]
    data: dict[str, str] = config["data"]
    return data


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_logs_in_to_kafka_as_itself_over_tls_with_credentials_from_a_secret(service: str) -> None:
    assert config_map()["REHAB_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert config_map()["REHAB_KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
    objects = manifests()
    [deployment] = [o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == service]
    pod = deployment["spec"]["template"]["spec"]
    [container] = pod["containers"]
    env = {e["name"]: e for e in container["env"]}
    for key in ("username", "password"):
        ref = env[f"REHAB_{service.upper()}_KAFKA_{key.upper()}"]["valueFrom"]["secretKeyRef"]
        assert ref == {"name": f"rehab-kafka-{service}", "key": key}  # its own Secret, not the admin's
    secrets = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Secret"}
    assert f"rehab-kafka-{service}" in secrets
    assert not ADMIN_IDENTITY & set(secrets["rehab-secrets"]["stringData"]), "every service reads rehab-secrets"
    assert all("rehab-kafka-admin" not in str(e) for e in container["env"])
    cafile = Path(config_map()["REHAB_KAFKA_SSL_CAFILE"])
    [mount] = [m for m in container["volumeMounts"] if m["mountPath"] == str(cafile.parent)]
    [volume] = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    assert volume["secret"]["secretName"] == "rehab-kafka-ca"


def test_the_platform_job_creates_the_users_and_acls_as_the_admin() -> None:
    [job] = [o for o in manifests() if o["kind"] == "Job"]
    [container] = job["spec"]["template"]["spec"]["containers"]
    assert container["args"][:1] == ["services.platform"] and {"topics", "access"} <= set(container["args"])
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"]["name"] for e in container["env"] if "valueFrom" in e}
    assert refs["REHAB_KAFKA_USERNAME"] == refs["REHAB_KAFKA_PASSWORD"] == "rehab-kafka-admin"
    for service in SERVICES:  # it sets each service's password from that service's own Secret
        assert refs[f"REHAB_{service.upper()}_KAFKA_PASSWORD"] == f"rehab-kafka-{service}"


def test_compose_runs_kafka_with_sasl_ssl_and_a_setup_job() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    broker = (DEPLOY / "kafka" / "broker.sh").read_text(encoding="utf-8")
    assert "listener.security.protocol.map=CONTROLLER:SASL_SSL,CLIENT:SASL_SSL" in broker
    assert "allow.everyone.if.no.acl.found=false" in broker
    for service in SERVICES:
        env = compose["services"][service]["environment"]
        assert env["REHAB_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
        assert env["REHAB_KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
        assert env[f"REHAB_{service.upper()}_KAFKA_USERNAME"] == service
        assert not ADMIN_IDENTITY & set(env)
    assert {"topics", "access"} <= set(compose["services"]["topics"]["command"])


def test_keycloak_runs_the_pinned_version_everywhere_with_the_realm_and_its_metrics_scraped() -> None:
    pinned = re.search(r"^KEYCLOAK_VERSION=(\S+)", (DEPLOY / "local" / "env.sh").read_text(), re.M)
    assert pinned is not None
    image = f"quay.io/keycloak/keycloak:{pinned.group(1)}"
    [deployment] = [o for o in manifests() if o["kind"] == "Deployment" and o["metadata"]["name"] == "keycloak"]
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"] == image and "--import-realm" in container["args"]
    assert container["readinessProbe"]["httpGet"] == {"path": "/health/ready", "port": "management"}
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["KC_DB"] == "postgres" and env["KC_METRICS_ENABLED"] == "true"
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    assert volumes["realm"]["configMap"]["name"] == "rehab-keycloak-realm"
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))["services"]
    assert compose["keycloak"]["image"] == image
    assert "./keycloak/rehab-realm.json:/opt/keycloak/data/import/rehab-realm.json:ro" in compose["keycloak"]["volumes"]
    for service in SERVICES:
        assert compose[service]["depends_on"]["keycloak"] == {"condition": "service_healthy"}
    scrape = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text(encoding="utf-8"))
    [job] = [j for j in scrape["scrape_configs"] if j["job_name"] == "keycloak"]
    assert job["dns_sd_configs"][0]["port"] == 9000


def test_production_trusts_the_issuer_and_asks_it_about_tokens() -> None:
    data = config_map()
    assert data["REHAB_ENV"] == "production" and data["REHAB_OIDC_ISSUER"].startswith("https://")
    assert data["REHAB_OIDC_INTROSPECTION_URI"].endswith("/protocol/openid-connect/token/introspect")
    [secrets] = [o for o in manifests() if o["kind"] == "Secret" and o["metadata"]["name"] == "rehab-secrets"]
    assert "REHAB_OIDC_CLIENT_SECRET" in secrets["stringData"]


# what the web app must be told in production: where browsers reach it, how it reaches the realm and the services
WEB_VARIABLES = {
    "REHAB_WEB_HTTP_HOST",
    "REHAB_WEB_PUBLIC_URL",
    "REHAB_WEB_OIDC_INTERNAL_URL",
    "REHAB_WEB_OIDC_CLIENT_SECRET",
    *(f"REHAB_WEB_{s.upper()}_URL" for s in SERVICES),
}


def test_the_web_app_runs_everywhere_with_every_setting_and_is_scraped() -> None:
    names = {f"REHAB_WEB_{n.upper()}" for n in WebSettings.model_fields}
    assert WEB_VARIABLES - {"REHAB_WEB_HTTP_HOST"} <= names, "a web setting the deploy assets set was renamed"
    objects = manifests()
    [deployment] = [o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "web"]
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["services.web"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert {e["name"] for e in container["env"]} >= WEB_VARIABLES
    [service] = [o for o in objects if o["kind"] == "Service" and o["metadata"]["name"] == "web"]
    assert service["spec"]["sessionAffinity"] == "ClientIP"  # its sessions live in the pod that signed the user in
    [ingress] = [o for o in objects if o["kind"] == "Ingress" and o["metadata"]["name"] == "web"]
    assert ingress["spec"]["tls"], "officials reach the web app over https only"
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    assert compose["services"]["web"]["command"] == ["services.web"]
    assert set(compose["services"]["web"]["environment"]) >= WEB_VARIABLES
    prometheus = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text(encoding="utf-8"))
    assert "rehab-web" in {job["job_name"] for job in prometheus["scrape_configs"]}
