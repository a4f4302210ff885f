"""The deployment files, checked offline: no Docker engine, no cluster, no network.

Each file is validated by a tool that knows its format (the Kubernetes API schemas of
kubernetes-validate, the compose-spec schema that check-jsonschema ships, dockerfile-parse,
nginx's own parser crossplane), then read for the properties production mode depends on
(docs/design.md, "Running"). The last tests hold the files to each other and to
`parley.config.Settings`: one port, one health path, one image, one data folder, and only
environment variables Parley reads.

A tool that is not installed skips the tests that need it, naming the missing package; the
others still run.
"""

from __future__ import annotations

import importlib
import json
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any, NamedTuple

import pytest
import yaml

import parley.web
from parley.config import Settings

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
DEPLOY = ROOT / "deploy"
COMPOSE_FILE = DEPLOY / "compose.yaml"
NGINX_CONF = DEPLOY / "nginx.conf"
KUBERNETES = DEPLOY / "kubernetes"
KUSTOMIZATION = KUBERNETES / "kustomization.yaml"
MANIFESTS = sorted(path for path in KUBERNETES.glob("*.yaml") if path != KUSTOMIZATION)

# What every file must agree on.
PORT = 8000
METRICS_PORT = 9000  # Kubernetes only: off the Service's port, so no Ingress can route it
READY_PATH = "/api/health/ready"  # the database answers; Redis may be away
LIVE_PATH = "/api/health/live"  # answers whenever the process does, whatever its dependencies
IMAGE = "parley:0.1.0"
DATA_DIR = "/app/data"
SERVE_ARGS = ["serve", "--host", "0.0.0.0", "--port", str(PORT)]
# Parley drains within about 10 s of SIGTERM (uvicorn's timeout_graceful_shutdown).
DRAIN_SECONDS = 12 + 10  # socket events (PARLEY_DRAIN_TIMEOUT_SECONDS), then uvicorn's own
# The oldest Kubernetes minor the manifests promise to work on; the newest bundled one is
# checked too. 1.29 is about the oldest that managed offerings still run.
OLDEST_KUBERNETES = "1.29"


def require_tool(module: str, package: str) -> ModuleType:
    """Import a validation tool (`package`, a dev dependency; the tools ship no types)."""
    tool: ModuleType = importlib.import_module(module)
    return tool


def setting_names() -> set[str]:
    """Every environment variable Parley reads: `PARLEY_` + each Settings field, upper case."""
    return {f"PARLEY_{name.upper()}" for name in Settings.model_fields}


def setting_default(name: str) -> Any:
    return Settings.model_fields[name].default


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def seconds(duration: str) -> float:
    """A duration as Compose and nginx write it ("75", "75s", "1m", "1m30s"), in seconds."""
    units = {"": 1, "ms": 0.001, "s": 1, "m": 60, "h": 3600}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h|)", duration.strip())
    assert parts, f"not a duration: {duration!r}"
    return sum(float(number) * units[unit] for number, unit in parts)


def image_tag(image: str) -> str:
    """The tag of `name:tag` (a registry's `host:port/` prefix is not a tag)."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else ""


# --- Dockerfile ---------------------------------------------------------------------------


class Instruction(NamedTuple):
    keyword: str
    value: str


def dockerfile_stages() -> list[list[Instruction]]:
    """The Dockerfile's instructions, one list per stage, each starting with its FROM."""
    parser_module = require_tool("dockerfile_parse", "dockerfile-parse")
    parser = parser_module.DockerfileParser(path=str(DOCKERFILE))
    stages: list[list[Instruction]] = []
    for item in parser.structure:
        instruction = Instruction(str(item["instruction"]).upper(), str(item["value"]))
        if instruction.keyword == "FROM":
            stages.append([])
        if instruction.keyword != "COMMENT":
            assert stages, "an instruction comes before the first FROM"
            stages[-1].append(instruction)
    return stages


def values_of(stage: list[Instruction], keyword: str) -> list[str]:
    return [instruction.value for instruction in stage if instruction.keyword == keyword]


def env_of(stage: list[Instruction]) -> dict[str, str]:
    """The stage's ENV settings (`ENV A=1 B=2` form)."""
    env: dict[str, str] = {}
    for value in values_of(stage, "ENV"):
        for pair in shlex.split(value):
            name, _, setting = pair.partition("=")
            env[name] = setting
    return env


def runtime_user_id() -> int:
    """The numeric user the final stage runs as."""
    users = values_of(dockerfile_stages()[-1], "USER")
    assert users, "the final stage sets no USER, so it runs as root"
    user = users[-1].split(":", 1)[0]
    # Numeric, so Kubernetes' runAsNonRoot can verify it without the image's /etc/passwd.
    assert user.isdigit(), f"USER {user} is not a numeric id"
    return int(user)


def test_dockerfile_is_multi_stage_on_pinned_slim_images() -> None:
    stages = dockerfile_stages()
    images = [stage[0].value.split()[0] for stage in stages]

    assert len(stages) >= 2
    # The Python stages on 3.11, the web client's on Node 20, like the development machines.
    assert images[0].startswith("python:3.11") and images[-1] == images[0]
    assert all(image.startswith(("python:3.11", "node:20.")) for image in images), images
    for image in images:
        assert "slim" in image_tag(image), image
        assert image_tag(image) not in {"", "latest"}, image


def test_dockerfile_builder_syncs_the_locked_venv_with_the_image_own_python() -> None:
    builder = dockerfile_stages()[0]
    runs = " ".join(values_of(builder, "RUN"))
    makefile_uv = re.search(r"^UV_VERSION\s*:?=\s*(\S+)", (ROOT / "Makefile").read_text(), re.M)

    assert makefile_uv is not None
    assert f"pip install uv=={makefile_uv.group(1)}" in runs
    assert "uv sync --frozen --no-dev" in runs
    assert env_of(builder)["UV_PYTHON_DOWNLOADS"] == "never"
    assert env_of(builder)["UV_PROJECT_ENVIRONMENT"] == "/app/.venv"


def test_dockerfile_runtime_stage_has_only_the_venv_and_the_source() -> None:
    runtime = dockerfile_stages()[-1]
    copies = {" ".join(value.split()) for value in values_of(runtime, "COPY")}

    assert copies == {
        "--from=builder /app/.venv /app/.venv",
        "--from=builder /app/src /app/src",
        "--from=web /app/web/dist /app/web/dist",
    }
    assert "pip install" not in " ".join(values_of(runtime, "RUN"))


def test_dockerfile_web_stage_builds_the_client_from_its_lock_file() -> None:
    (web,) = [stage for stage in dockerfile_stages() if " AS web" in stage[0].value]
    copies = [" ".join(value.split()) for value in values_of(web, "COPY")]
    runs = values_of(web, "RUN")

    assert copies[0] == "web/package.json web/package-lock.json ./"
    assert runs[0].startswith("npm ci")
    assert runs[-1] == "npm run build"
    # The runtime copies the build to where `parley serve` looks by default.
    assert parley.web.CHECKOUT_BUILD.relative_to(ROOT) == Path("web/dist")


def test_dockerfile_runtime_stage_runs_as_a_non_root_user() -> None:
    assert runtime_user_id() != 0


def test_dockerfile_exposes_the_port_and_checks_health_without_curl() -> None:
    runtime = dockerfile_stages()[-1]
    (healthcheck,) = values_of(runtime, "HEALTHCHECK")
    command = json.loads(healthcheck.split("CMD", 1)[1])

    assert values_of(runtime, "EXPOSE") == [str(PORT)]
    assert command[0] == "python"
    # The port the server listens on, from the same variable.
    assert 'http://127.0.0.1:{os.environ["PARLEY_PORT"]}' + READY_PATH + "'" in command[-1]
    compile(command[-1], "HEALTHCHECK", "exec")
    assert env_of(runtime)["PARLEY_PORT"] == str(PORT)
    assert "curl" not in healthcheck and "wget" not in healthcheck


def test_dockerfile_stops_with_sigterm_and_serves_by_default() -> None:
    runtime = dockerfile_stages()[-1]
    (entrypoint,) = values_of(runtime, "ENTRYPOINT")
    (command,) = values_of(runtime, "CMD")

    assert values_of(runtime, "STOPSIGNAL") == ["SIGTERM"]
    # Exec form (JSON arrays): parley is PID 1 and gets the signal, not a shell.
    assert json.loads(entrypoint) == ["/app/.venv/bin/parley"]
    assert json.loads(command) == ["serve"]
    env = env_of(runtime)
    assert (env["PARLEY_HOST"], env["PARLEY_PORT"]) == ("0.0.0.0", str(PORT))
    assert env["PARLEY_DATA_DIR"] == DATA_DIR


def test_dockerignore_keeps_environments_data_and_caches_out_but_not_the_sources() -> None:
    patterns = {
        line.strip()
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    needed = {".venv", ".tools", "data", "node_modules", "tests/interop/node_modules", ".git"}
    needed |= {"web/node_modules", "web/dist"}
    needed |= {".env", ".pytest_cache", ".mypy_cache", ".ruff_cache", "**/__pycache__"}

    assert needed <= patterns
    assert not {"src", "web", "pyproject.toml", "uv.lock", "README.md"} & patterns


# --- Docker Compose -----------------------------------------------------------------------


def compose() -> dict[str, Any]:
    document = load_yaml(COMPOSE_FILE)
    assert isinstance(document, dict)
    return document


def compose_service(name: str) -> dict[str, Any]:
    service = compose()["services"][name]
    assert isinstance(service, dict)
    return service


def test_compose_file_follows_the_compose_specification() -> None:
    require_tool("check_jsonschema", "check-jsonschema")
    check = [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec"]

    result = subprocess.run(
        [*check, str(COMPOSE_FILE)], capture_output=True, text=True, timeout=120, check=False
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_runs_postgres_and_redis_with_health_checks_and_a_named_volume() -> None:
    postgres = compose_service("postgres")
    redis = compose_service("redis")

    assert postgres["image"].startswith("postgres:15")
    assert "pg_isready" in postgres["healthcheck"]["test"]
    assert any(mount.startswith("postgres-data:") for mount in postgres["volumes"])
    assert "postgres-data" in compose()["volumes"]
    assert redis["image"].startswith("redis:7")
    assert "redis-cli" in redis["healthcheck"]["test"]


def test_compose_migrates_once_after_postgres_is_healthy() -> None:
    migrate = compose_service("migrate")

    assert migrate["image"] == IMAGE
    for name in ("migrate", "parley"):
        build = compose_service(name)["build"]
        assert (
            COMPOSE_FILE.parent / build["context"] / build["dockerfile"]
        ).resolve() == DOCKERFILE
    assert migrate["command"] == ["migrate"]
    assert migrate["restart"] == "no"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_compose_runs_three_replicas_after_the_migration() -> None:
    parley = compose_service("parley")
    environment = parley["environment"]

    assert parley["image"] == IMAGE
    assert parley["command"] == SERVE_ARGS
    assert parley["deploy"]["replicas"] == 3
    assert parley["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert parley["depends_on"]["redis"]["condition"] == "service_healthy"
    assert environment["PARLEY_MIGRATE_ON_START"] == "false"
    assert environment["PARLEY_REDIS_URL"] == "redis://redis:6379/0"
    assert environment["PARLEY_DATABASE_URL"].startswith("postgresql://")
    # Compose refuses to start without the shared secret rather than generating one per
    # replica.
    assert environment["PARLEY_JWT_SECRET"].startswith("${PARLEY_JWT_SECRET:?")
    assert seconds(parley["stop_grace_period"]) > DRAIN_SECONDS


def test_compose_publishes_only_nginx_with_its_configuration() -> None:
    nginx = compose_service("nginx")
    published = {name for name, service in compose()["services"].items() if service.get("ports")}

    assert published == {"nginx"}
    assert nginx["ports"] == [f"{PORT}:{PORT}"]
    assert "./nginx.conf:/etc/nginx/nginx.conf:ro" in nginx["volumes"]
    assert image_tag(nginx["image"]) not in {"", "latest"}


def test_compose_images_are_all_tagged() -> None:
    for name, service in compose()["services"].items():
        assert image_tag(service["image"]) not in {"", "latest"}, name


# --- nginx --------------------------------------------------------------------------------

Directive = dict[str, Any]


def nginx_payload(*, strict: bool) -> dict[str, Any]:
    crossplane = require_tool("crossplane", "crossplane")
    # single: do not follow `include`s of the nginx image's own files.
    payload = crossplane.parse(str(NGINX_CONF), single=True, strict=strict)
    assert isinstance(payload, dict)
    return payload


def walk(block: list[Directive]) -> Iterator[Directive]:
    for directive in block:
        yield directive
        yield from walk(directive.get("block", []))


def directives(block: list[Directive], name: str) -> list[Directive]:
    return [directive for directive in block if directive["directive"] == name]


def nginx_http() -> list[Directive]:
    (config,) = nginx_payload(strict=False)["config"]
    (http,) = directives(config["parsed"], "http")
    block: list[Directive] = http["block"]
    return block


def proxied_location() -> list[Directive]:
    (server,) = directives(nginx_http(), "server")
    (location,) = [
        location
        for location in directives(server["block"], "location")
        if location["args"] == ["/"]
    ]
    block: list[Directive] = location["block"]
    return block


def proxy_headers() -> dict[str, str]:
    return {
        directive["args"][0]: directive["args"][1]
        for directive in directives(proxied_location(), "proxy_set_header")
    }


def test_nginx_conf_parses_with_only_known_directives() -> None:
    lenient = nginx_payload(strict=False)
    # The entries of a `map` block are values, which strict mode takes for directives.
    map_lines = {
        entry["line"]
        for directive in walk(lenient["config"][0]["parsed"])
        if directive["directive"] == "map"
        for entry in directive["block"]
    }

    strict_errors = nginx_payload(strict=True)["errors"]

    assert lenient["status"] == "ok", lenient["errors"]
    assert [error for error in strict_errors if error["line"] not in map_lines] == []


def test_nginx_balances_the_parley_replicas_sticky_by_client_address() -> None:
    (upstream,) = directives(nginx_http(), "upstream")
    servers = directives(upstream["block"], "server")
    (proxy_pass,) = directives(proxied_location(), "proxy_pass")

    assert [server["args"][0] for server in servers] == [f"parley:{PORT}"]
    assert "parley" in compose()["services"]
    # Long polling: every request of a Socket.IO session must reach the same process.
    assert directives(upstream["block"], "ip_hash")
    assert proxy_pass["args"] == [f"http://{upstream['args'][0]}"]


def test_nginx_passes_websocket_upgrades_through() -> None:
    maps = {tuple(directive["args"]) for directive in directives(nginx_http(), "map")}
    (version,) = directives(proxied_location(), "proxy_http_version")

    assert version["args"] == ["1.1"]
    assert proxy_headers()["Upgrade"] == "$http_upgrade"
    assert proxy_headers()["Connection"] == "$connection_upgrade"
    assert ("$http_upgrade", "$connection_upgrade") in maps


def test_nginx_passes_the_client_address_and_a_request_id() -> None:
    headers = proxy_headers()

    assert headers["X-Forwarded-For"] == "$proxy_add_x_forwarded_for"
    assert headers["X-Forwarded-Proto"] == "$scheme"
    assert "X-Request-ID" in headers


def test_nginx_keeps_quiet_sockets_open_longer_than_the_heartbeat() -> None:
    heartbeat = setting_default("heartbeat_interval_seconds") + setting_default(
        "heartbeat_timeout_seconds"
    )
    location = proxied_location()

    for name in ("proxy_read_timeout", "proxy_send_timeout"):
        (timeout,) = directives(location, name)
        assert seconds(timeout["args"][0]) > heartbeat, name


def test_nginx_listens_on_the_published_port_and_hides_metrics() -> None:
    (server,) = directives(nginx_http(), "server")
    locations = {
        tuple(location["args"]): location for location in directives(server["block"], "location")
    }

    assert directives(server["block"], "listen")[0]["args"] == [str(PORT)]
    assert directives(locations[("=", "/metrics")]["block"], "return")[0]["args"] == ["404"]


# --- Kubernetes ---------------------------------------------------------------------------


def manifest(name: str) -> dict[str, Any]:
    document = load_yaml(KUBERNETES / name)
    assert isinstance(document, dict)
    return document


def pod_spec(name: str) -> dict[str, Any]:
    spec: dict[str, Any] = manifest(name)["spec"]["template"]["spec"]
    return spec


def only_container(name: str) -> dict[str, Any]:
    (container,) = pod_spec(name)["containers"]
    assert isinstance(container, dict)
    return container


def kubernetes_problem(validator: ModuleType, document: Any, version: str) -> str | None:
    """Why `document` is not a valid object of Kubernetes `version`, or None when it is."""
    try:
        # strict: a misspelt or misplaced field is an error, not silently ignored.
        validator.validate(document, version, strict=True)
    except validator.ValidationError as error:
        # The error's own text quotes the whole schema; the field and the reason suffice.
        where = ".".join(str(part) for part in error.path)
        return f"{where}: {error.message}"
    return None


@pytest.mark.parametrize("version", [OLDEST_KUBERNETES, "newest"])
@pytest.mark.parametrize("path", MANIFESTS, ids=[path.name for path in MANIFESTS])
def test_manifest_is_valid_for_kubernetes(path: Path, version: str) -> None:
    validator = require_tool("kubernetes_validate", "kubernetes-validate")
    target = validator.latest_version() if version == "newest" else version

    problems = [
        kubernetes_problem(validator, document, target)
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8"))
    ]

    assert [problem for problem in problems if problem] == [], f"Kubernetes {target}"


def test_kustomization_lists_every_manifest() -> None:
    kustomization = load_yaml(KUSTOMIZATION)

    # All but the Secret's placeholders, which would overwrite the real Secret on each apply.
    expected = [path.name for path in MANIFESTS if path.name != "secret.yaml"]
    assert sorted(kustomization["resources"]) == expected
    assert [image["name"] for image in kustomization["images"]] == [IMAGE.split(":")[0]]


def test_deployment_runs_three_probed_replicas_as_non_root_on_a_read_only_root() -> None:
    deployment = manifest("deployment.yaml")
    spec = pod_spec("deployment.yaml")
    container = only_container("deployment.yaml")
    mounts = {mount["name"]: mount["mountPath"] for mount in container["volumeMounts"]}
    empty_dirs = {volume["name"] for volume in spec["volumes"] if "emptyDir" in volume}

    assert deployment["spec"]["replicas"] == 3
    assert container["image"] == IMAGE
    assert container["args"] == SERVE_ARGS
    assert container["ports"] == [
        {"name": "http", "containerPort": PORT, "protocol": "TCP"},
        {"name": "metrics", "containerPort": METRICS_PORT, "protocol": "TCP"},
    ]
    assert container["readinessProbe"]["httpGet"] == {"path": READY_PATH, "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": LIVE_PATH, "port": "http"}
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] == runtime_user_id()
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert mounts["data"] == DATA_DIR and "data" in empty_dirs
    assert {"requests", "limits"} <= set(container["resources"])
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(METRICS_PORT)
    assert annotations["prometheus.io/path"] == "/metrics"
    assert manifest("configmap.yaml")["data"]["PARLEY_METRICS_PORT"] == str(METRICS_PORT)


def test_deployment_pods_wait_for_the_migration_before_serving() -> None:
    (init,) = pod_spec("deployment.yaml")["initContainers"]
    job = only_container("migration-job.yaml")

    assert init["args"] == ["migrate"]
    assert {k: v for k, v in init.items() if k != "name"} == {
        k: v for k, v in job.items() if k != "name"
    }


def test_deployment_leaves_the_service_before_sigterm_and_has_time_to_drain() -> None:
    container = only_container("deployment.yaml")
    pre_stop = container["lifecycle"]["preStop"]["exec"]["command"]

    assert pre_stop[0] == "sleep"
    grace = pod_spec("deployment.yaml")["terminationGracePeriodSeconds"]
    assert grace > int(pre_stop[1]) + DRAIN_SECONDS


def test_deployment_and_job_read_settings_from_the_configmap_and_the_secret() -> None:
    expected = [
        {"configMapRef": {"name": manifest("configmap.yaml")["metadata"]["name"]}},
        {"secretRef": {"name": manifest("secret.yaml")["metadata"]["name"]}},
    ]

    assert only_container("deployment.yaml")["envFrom"] == expected
    assert pod_spec("deployment.yaml")["initContainers"][0]["envFrom"] == expected
    assert only_container("migration-job.yaml")["envFrom"] == expected


def test_configmap_turns_migration_on_start_off_and_logs_json() -> None:
    data = manifest("configmap.yaml")["data"]

    assert data["PARLEY_MIGRATE_ON_START"] == "false"
    assert data["PARLEY_LOG_FORMAT"] == "json"
    assert data["PARLEY_DATA_DIR"] == DATA_DIR


def test_secret_holds_placeholders_only() -> None:
    values = manifest("secret.yaml")["stringData"]

    assert {"PARLEY_JWT_SECRET", "PARLEY_DATABASE_URL"} <= set(values)
    for name, value in values.items():
        assert "REPLACE_ME" in value, name
    assert "data" not in manifest("secret.yaml")


def test_service_selects_the_deployment_pods_on_the_named_port() -> None:
    service = manifest("service.yaml")["spec"]
    pod_labels = manifest("deployment.yaml")["spec"]["template"]["metadata"]["labels"]

    assert service["selector"].items() <= pod_labels.items()
    assert service["ports"] == [
        {"name": "http", "port": PORT, "targetPort": "http", "protocol": "TCP"}
    ]


def test_ingress_keeps_websockets_open_and_long_polling_sticky() -> None:
    ingress = manifest("ingress.yaml")
    annotations = ingress["metadata"]["annotations"]
    heartbeat = setting_default("heartbeat_interval_seconds") + setting_default(
        "heartbeat_timeout_seconds"
    )
    (rule,) = ingress["spec"]["rules"]
    (path,) = rule["http"]["paths"]

    for name in ("proxy-read-timeout", "proxy-send-timeout"):
        assert float(annotations[f"nginx.ingress.kubernetes.io/{name}"]) > heartbeat, name
    assert annotations["nginx.ingress.kubernetes.io/affinity"] == "cookie"
    assert path["backend"]["service"] == {
        "name": manifest("service.yaml")["metadata"]["name"],
        "port": {"name": "http"},
    }


def test_hpa_scales_the_deployment_on_cpu_from_three_replicas() -> None:
    hpa = manifest("hpa.yaml")
    (metric,) = hpa["spec"]["metrics"]

    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"]["name"] == manifest("deployment.yaml")["metadata"]["name"]
    assert hpa["spec"]["minReplicas"] == manifest("deployment.yaml")["spec"]["replicas"]
    assert metric["resource"]["name"] == "cpu"


def test_migration_job_runs_parley_migrate_once_and_cleans_up() -> None:
    job = manifest("migration-job.yaml")["spec"]
    container = only_container("migration-job.yaml")

    assert container["image"] == IMAGE
    assert container["args"] == ["migrate"]
    assert job["backoffLimit"] >= 1
    assert job["ttlSecondsAfterFinished"] > 0
    assert job["template"]["spec"]["restartPolicy"] == "Never"
    assert pod_spec("migration-job.yaml")["securityContext"]["runAsUser"] == runtime_user_id()


# --- Across files -------------------------------------------------------------------------


def configured_names() -> dict[str, set[str]]:
    """The PARLEY_ variables each deployment file sets, by file."""
    compose_names = {
        name
        for service in compose()["services"].values()
        for name in service.get("environment", {})
        if name.startswith("PARLEY_")
    }
    return {
        "Dockerfile": {
            name for name in env_of(dockerfile_stages()[-1]) if name.startswith("PARLEY_")
        },
        "compose.yaml": compose_names,
        "configmap.yaml": set(manifest("configmap.yaml")["data"]),
        "secret.yaml": set(manifest("secret.yaml")["stringData"]),
    }


def test_every_configured_variable_is_a_parley_setting() -> None:
    known = setting_names()

    for file, names in configured_names().items():
        assert names - known == set(), file


def test_production_settings_are_set_in_compose_and_kubernetes_alike() -> None:
    names = configured_names()
    required = {
        "PARLEY_DATABASE_URL",
        "PARLEY_REDIS_URL",
        "PARLEY_JWT_SECRET",
        "PARLEY_MIGRATE_ON_START",
        "PARLEY_LOG_FORMAT",
        "PARLEY_FORWARDED_ALLOW_IPS",  # behind a proxy: else every client is the proxy
    }

    assert required <= names["compose.yaml"]
    assert required <= names["configmap.yaml"] | names["secret.yaml"]


def test_the_data_folder_is_the_same_everywhere() -> None:
    environment = compose_service("parley")["environment"]

    assert env_of(dockerfile_stages()[-1])["PARLEY_DATA_DIR"] == DATA_DIR
    assert environment["PARLEY_DATA_DIR"] == DATA_DIR
    assert manifest("configmap.yaml")["data"]["PARLEY_DATA_DIR"] == DATA_DIR
    for name in ("deployment.yaml", "migration-job.yaml"):
        mounts = [mount["mountPath"] for mount in only_container(name)["volumeMounts"]]
        assert DATA_DIR in mounts, name
