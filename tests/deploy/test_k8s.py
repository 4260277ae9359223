"""deploy/k8s: valid against the Kubernetes schemas (offline, kubernetes-validate), and wired as the issue asks."""

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from api.settings import ApiSettings
from api.targets import parse_target
from tests.deploy.tools import ROOT
from worker.settings import WorkerSettings

K8S = ROOT / "deploy" / "k8s"
# The newest schemas the installed kubernetes-validate ships; grpc probes are GA since 1.27.
KUBERNETES_VERSION = kubernetes_validate.latest_version()
HEALTH_SERVICE = "generator.ImageService"


def documents() -> list[tuple[str, dict[str, Any]]]:
    """(file name, resource) for every YAML document under deploy/k8s."""
    found = []
    for path in sorted(K8S.glob("*.yaml")):
        found += [(path.name, doc) for doc in yaml.safe_load_all(path.read_text()) if doc]
    return found


def resource(kind: str, name: str) -> dict[str, Any]:
    (match,) = [doc for _, doc in documents() if doc["kind"] == kind and doc["metadata"]["name"] == name]
    return match


def container(deployment: str) -> dict[str, Any]:
    (only,) = resource("Deployment", deployment)["spec"]["template"]["spec"]["containers"]
    return only


def config() -> dict[str, str]:
    data: dict[str, str] = resource("ConfigMap", "img-generator")["data"]
    return data


@pytest.mark.parametrize(
    ("name", "doc"), documents(), ids=[f"{name}:{doc['kind']}/{doc['metadata']['name']}" for name, doc in documents()]
)
def test_manifest_is_valid_against_the_kubernetes_schema(name: str, doc: dict[str, Any]) -> None:
    # strict: an unknown or misspelt field is an error, not silently dropped by the API server.
    kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_the_validator_rejects_a_misspelt_field() -> None:
    broken = resource("Deployment", "img-generator-worker")
    broken = {**broken, "spec": {**broken["spec"], "replica": 2}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_worker_requests_one_gpu() -> None:
    resources = container("img-generator-worker")["resources"]
    assert resources["limits"]["nvidia.com/gpu"] == 1
    assert resources["requests"]["nvidia.com/gpu"] == 1


def test_worker_probes_use_grpc_health_on_its_port() -> None:
    worker = container("img-generator-worker")
    port = int(config()["PY_PORT"])
    assert worker["ports"][0]["containerPort"] == port
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert worker[probe]["grpc"]["port"] == port, probe
    # Readiness asks for the ImageService itself: NOT_SERVING while loading or draining takes the pod out.
    assert worker["readinessProbe"]["grpc"]["service"] == HEALTH_SERVICE


def test_worker_grace_period_outlasts_its_drain_grace() -> None:
    spec = resource("Deployment", "img-generator-worker")["spec"]["template"]["spec"]
    assert spec["terminationGracePeriodSeconds"] > float(config()["WORKER_DRAIN_GRACE_SECONDS"])


def test_worker_mounts_the_models_read_only_at_model_mount_path() -> None:
    mounts = {m["name"]: m for m in container("img-generator-worker")["volumeMounts"]}
    assert mounts["models"]["mountPath"] == config()["MODEL_MOUNT_PATH"]
    assert mounts["models"]["readOnly"] is True


def test_api_target_is_the_headless_worker_service() -> None:
    service = resource("Service", "img-generator-worker")
    assert service["spec"]["clusterIP"] == "None"
    target = parse_target(config()["RPC_TARGET"])
    assert target.kind == "dns"
    assert (target.host, target.port) == ("img-generator-worker", service["spec"]["ports"][0]["port"])
    pods = resource("Deployment", "img-generator-worker")["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pods.items()


@pytest.mark.parametrize(("probe", "path"), [("readinessProbe", "/ready"), ("livenessProbe", "/health")])
def test_api_probes_are_http(probe: str, path: str) -> None:
    assert container("img-generator-api")[probe]["httpGet"]["path"] == path


@pytest.mark.parametrize("component", ["api", "web"])
def test_api_and_web_have_a_service_selecting_their_pods(component: str) -> None:
    service = resource("Service", f"img-generator-{component}")
    pods = resource("Deployment", f"img-generator-{component}")["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pods.items()


@pytest.mark.parametrize("component", ["worker", "api", "web"])
def test_every_pod_runs_as_non_root_with_the_compose_image(component: str) -> None:
    spec = resource("Deployment", f"img-generator-{component}")["spec"]["template"]["spec"]
    assert spec["securityContext"]["runAsNonRoot"] is True
    compose = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())
    assert container(f"img-generator-{component}")["image"] == compose["services"][component]["image"]


def test_every_config_key_is_a_setting_a_service_reads() -> None:
    known = {field.alias for field in WorkerSettings.model_fields.values()}
    known |= {name.upper() for name in ApiSettings.model_fields}
    known |= {"FE_PORT", "FE_HOST", "NEXT_PUBLIC_BASE_URL"}
    assert set(config()) <= known, set(config()) - known
    # And the values are ones the services accept.
    ApiSettings(_env_file=None, **{k.lower(): v for k, v in config().items() if k.lower() in ApiSettings.model_fields})


def test_every_manifest_file_is_yaml_kubectl_can_apply(tmp_path: Path) -> None:
    # kubectl apply -f deploy/k8s/ takes every file there: each document must have a kind and a name.
    for name, doc in documents():
        assert doc.get("apiVersion") and doc.get("kind") and doc["metadata"].get("name"), name
