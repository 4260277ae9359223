"""deploy/k8s: valid against the Kubernetes schemas (offline, kubernetes-validate), and wired as the issue asks.

deploy/k8s-shared-gallery (several gateways on PostgreSQL) is a kustomize overlay of it, rendered with kubectl's
built-in kustomize (offline, no cluster).
"""

import re
import shutil
import subprocess
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
SHARED_GALLERY = ROOT / "deploy" / "k8s-shared-gallery"
# The newest schemas the installed kubernetes-validate ships; grpc probes are GA since 1.27.
KUBERNETES_VERSION = kubernetes_validate.latest_version()
HEALTH_SERVICE = "generator.ImageService"


def documents() -> list[tuple[str, dict[str, Any]]]:
    """(file name, resource) for every YAML document under deploy/k8s."""
    found = []
    for path in sorted(K8S.glob("*.yaml")):
        found += [(path.name, doc) for doc in yaml.safe_load_all(path.read_text()) if doc]
    return found


def resource(kind: str, name: str, docs: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    docs = [doc for _, doc in documents()] if docs is None else docs
    (match,) = [doc for doc in docs if doc["kind"] == kind and doc["metadata"]["name"] == name]
    return match


def container(deployment: str, docs: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    (only,) = resource("Deployment", deployment, docs)["spec"]["template"]["spec"]["containers"]
    return only


def config(docs: list[dict[str, Any]] | None = None) -> dict[str, str]:
    data: dict[str, str] = resource("ConfigMap", "img-generator", docs)["data"]
    return data


def kustomize(folder: Path) -> list[dict[str, Any]]:
    """What `kubectl apply -k folder` would apply, rendered offline by kubectl's built-in kustomize."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl (with its built-in kustomize) is not installed")
    result = subprocess.run([kubectl, "kustomize", str(folder)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def variant(name: str) -> list[dict[str, Any]]:
    """The resources of a way to deploy: `default` (kubectl apply -f deploy/k8s/) or `shared-gallery`."""
    if name == "default":
        return [doc for _, doc in documents()]
    return kustomize(SHARED_GALLERY)


def claim_mounts(deployment: str, docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Mount path -> the PersistentVolumeClaim mounted there, for each claim the Deployment's container mounts."""
    pod = resource("Deployment", deployment, docs)["spec"]["template"]["spec"]
    claims = {
        v["name"]: v["persistentVolumeClaim"]["claimName"]
        for v in pod.get("volumes", [])
        if "persistentVolumeClaim" in v
    }
    mounts = container(deployment, docs).get("volumeMounts", [])
    return {
        m["mountPath"]: resource("PersistentVolumeClaim", claims[m["name"]], docs)
        for m in mounts
        if m["name"] in claims
    }


def gibibytes(quantity: str) -> float:
    """A Kubernetes storage quantity (20Gi, 500Mi, 1Ti) in GiB."""
    match = re.fullmatch(r"(\d+)(Mi|Gi|Ti)", quantity)
    assert match, quantity
    return int(match[1]) * {"Mi": 1 / 1024, "Gi": 1, "Ti": 1024}[match[2]]


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


def test_the_kustomization_lists_every_manifest() -> None:
    # deploy/k8s/Kustomization makes the folder the overlay's base; a manifest it forgot would be missing there.
    kustomization = yaml.safe_load((K8S / "Kustomization").read_text())
    assert kustomization["resources"] == sorted(path.name for path in K8S.glob("*.yaml"))


def test_kustomize_renders_the_same_as_the_plain_manifests() -> None:
    def key(doc: dict[str, Any]) -> str:
        return f"{doc['kind']}/{doc['metadata']['name']}"

    plain = {key(doc): doc for _, doc in documents()}
    assert {key(doc): doc for doc in kustomize(K8S)} == plain


@pytest.mark.parametrize("name", ["default", "shared-gallery"])
def test_gateway_keeps_its_gallery_on_a_claim_at_api_data_dir(name: str) -> None:
    docs = variant(name)
    data_dir = config(docs)["API_DATA_DIR"]
    claim = claim_mounts("img-generator-api", docs)[data_dir]
    assert claim["metadata"]["name"] == "img-generator-api-data"
    (mount,) = [m for m in container("img-generator-api", docs)["volumeMounts"] if m["mountPath"] == data_dir]
    assert not mount.get("readOnly", False)
    # Written by the image's user: the pod hands the volume to its group.
    pod = resource("Deployment", "img-generator-api", docs)["spec"]["template"]["spec"]["securityContext"]
    assert pod["fsGroup"] == pod["runAsGroup"] == pod["runAsUser"] == 10001


@pytest.mark.parametrize("name", ["default", "shared-gallery"])
def test_a_deployment_on_a_read_write_once_claim_is_one_pod_recreated(name: str) -> None:
    docs = variant(name)
    checked = 0
    for deployment in [doc for doc in docs if doc["kind"] == "Deployment"]:
        deployment_name = deployment["metadata"]["name"]
        modes = {
            mode for claim in claim_mounts(deployment_name, docs).values() for mode in claim["spec"]["accessModes"]
        }
        if modes & {"ReadWriteOnce", "ReadWriteOncePod"}:
            # A RollingUpdate would start the new pod while the old one holds the volume: on another node it waits
            # forever. And one node's volume is one pod's.
            assert deployment["spec"]["strategy"] == {"type": "Recreate"}, deployment_name
            assert deployment["spec"]["replicas"] == 1, deployment_name
            checked += 1
    assert checked == (1 if name == "default" else 0)


def test_the_default_is_one_gateway_on_sqlite_in_a_read_write_once_volume() -> None:
    docs = variant("default")
    (claim,) = claim_mounts("img-generator-api", docs).values()
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert resource("Deployment", "img-generator-api")["spec"]["replicas"] == 1
    # No database URL anywhere: the gallery is SQLite in API_DATA_DIR.
    assert "API_DATABASE_URL" not in config()
    assert "env" not in container("img-generator-api")


def test_the_gallery_limit_keeps_the_images_below_the_volume() -> None:
    claim = resource("PersistentVolumeClaim", "img-generator-api-data")
    size = gibibytes(claim["spec"]["resources"]["requests"]["storage"])
    # Thumbnails and gallery.db are not counted in the limit: leave them room.
    assert 0 < int(config()["API_GALLERY_MAX_BYTES"]) <= 0.95 * size * 2**30


def test_the_gateway_has_a_writable_tmp_beside_its_read_only_root() -> None:
    api = container("img-generator-api")
    assert api["securityContext"]["readOnlyRootFilesystem"] is True
    pod = resource("Deployment", "img-generator-api")["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    (tmp,) = [m for m in api["volumeMounts"] if m["mountPath"] == "/tmp"]
    assert "emptyDir" in volumes[tmp["name"]]


def test_shared_gallery_manifests_are_valid_against_the_kubernetes_schema() -> None:
    docs = kustomize(SHARED_GALLERY)
    assert docs
    for doc in docs:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_shared_gallery_runs_several_gateways_on_postgresql_and_one_read_write_many_volume() -> None:
    docs = variant("shared-gallery")
    api = resource("Deployment", "img-generator-api", docs)
    assert api["spec"]["replicas"] > 1
    assert api["spec"]["strategy"]["type"] == "RollingUpdate"
    (claim,) = claim_mounts("img-generator-api", docs).values()
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    # The URL holds a password: from a Secret, never written in a manifest.
    (database,) = [e for e in container("img-generator-api", docs)["env"] if e["name"] == "API_DATABASE_URL"]
    assert set(database) == {"name", "valueFrom"}
    assert database["valueFrom"]["secretKeyRef"] == {"name": "img-generator-database", "key": "API_DATABASE_URL"}
    assert "postgresql" not in yaml.safe_dump_all(docs)
    assert not [doc for doc in docs if doc["kind"] == "Secret"]


def test_shared_gallery_changes_only_the_gateway_and_its_volume() -> None:
    def by_key(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        return {f"{doc['kind']}/{doc['metadata']['name']}": doc for doc in docs}

    default, shared = by_key(variant("default")), by_key(variant("shared-gallery"))
    assert set(shared) == set(default)
    changed = {key for key in default if default[key] != shared[key]}
    assert changed == {"Deployment/img-generator-api", "PersistentVolumeClaim/img-generator-api-data"}
