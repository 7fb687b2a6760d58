"""Static checks of the compose way in (docker-compose.yml, Dockerfile, docker/): no Docker engine needed.

The file must validate against the Compose Specification's JSON schema (the copy npm `dclint`, pinned in
package.json, ships), reference only files that exist, take every variable from .env.example (or an
inline default), start services in an order that can succeed, publish ports on loopback only, and run
the native stack's own scripts, changelog and tests. Settings are read with .env.example's values.
"""

import json
import re
import shlex
import subprocess
from collections.abc import Iterator
from fnmatch import fnmatch
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any

import jsonschema
import yaml
from dotenv import dotenv_values

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
SCHEMA_FILE = ROOT / "node_modules" / "dclint" / "schemas" / "compose.schema.json"
CORE = {"postgres", "liquibase", "db-init", "pgbouncer", "app"}
ONE_SHOTS = {"liquibase", "db-init", "test-db", "liquibase-test", "pgtap"}

# $$ (a literal $), ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}, ${NAME:+alt};
# a bare $NAME is refused (always brace), and so is a $ followed by anything else.
VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<name>[A-Za-z_]\w*)(?:(?P<op>:?[-?+])(?P<arg>[^}$]*))?\}"
    r"|(?P<bare>[A-Za-z_]\w*)|(?P<invalid>))"
)


@cache
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(data, dict)
    return data


def services() -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = compose()["services"]
    return result


@cache
def env_example() -> dict[str, str]:
    return {k: v or "" for k, v in dotenv_values(ROOT / ".env.example").items()}


def strings(node: Any) -> Iterator[str]:
    """Every string value in the file (compose interpolates values, not keys)."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from strings(value)


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's interpolation, for the forms VARIABLE accepts."""

    def one(m: re.Match[str]) -> str:
        if m["escaped"]:
            return "$"
        if m["name"] is None:
            raise AssertionError(f"unsupported interpolation in {text!r}: brace every variable, write $$ for $")
        name, op, arg = m["name"], m["op"], m["arg"] or ""
        if op in (":?", "?") and not (env.get(name) if op == ":?" else name in env):
            raise AssertionError(f"{name} is required ({arg})")
        if op == ":-":
            return env.get(name) or arg
        if op == "-":
            return env.get(name, arg)
        if op in (":+", "+"):
            return arg if (env.get(name) if op == ":+" else name in env) else ""
        return env.get(name, "")

    return VARIABLE.sub(one, text)


def environment(service: dict[str, Any]) -> dict[str, str]:
    """The service's `environment`, not interpolated."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def container_env(name: str) -> dict[str, str]:
    """What the container sees with .env made from .env.example: env_file, then `environment`."""
    service = services()[name]
    env: dict[str, str] = {}
    env_files = service.get("env_file") or []
    for env_file in [env_files] if isinstance(env_files, str) else env_files:
        assert env_file in (".env", "./.env"), f"{name}: env_file {env_file} (only .env is checked here)"
        env.update(env_example())
    env.update({k: interpolate(v, env_example()) for k, v in environment(service).items()})
    return env


def binds(service: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """(host path, container path, read-only) of each bind mount."""
    result = []
    for volume in service.get("volumes") or []:
        if isinstance(volume, dict):
            if volume.get("type") == "bind":
                result.append((volume["source"], volume["target"], bool(volume.get("read_only"))))
            continue
        parts = volume.split(":")
        if parts[0].startswith((".", "/")):
            result.append((parts[0], parts[1], len(parts) > 2 and "ro" in parts[2].split(",")))
    return result


def host_path(service: dict[str, Any], container_path: str) -> Path | None:
    """The host file behind a container path, if it lies in a bind mount."""
    path = PurePosixPath(container_path)
    for source, target, _ in binds(service):
        if path == PurePosixPath(target) or PurePosixPath(target) in path.parents:
            return ROOT / source / path.relative_to(target)
    return None


def commands(service: dict[str, Any]) -> list[str]:
    """The shell text and arguments a service runs: entrypoint, command, healthcheck test."""
    result = []
    for key in ("entrypoint", "command"):
        value = service.get(key)
        result += [value] if isinstance(value, str) else list(value or [])
    test = (service.get("healthcheck") or {}).get("test")
    result += [test] if isinstance(test, str) else list(test or [])
    return [interpolate(text, env_example()) for text in result]


def shell_scripts(service: dict[str, Any]) -> list[str]:
    """The scripts a service hands to a shell: `sh -c SCRIPT` and CMD-SHELL healthchecks."""
    scripts = []
    for key in ("entrypoint", "command"):
        value = service.get(key)
        if isinstance(value, list) and value[:2] in (["sh", "-c"], ["/bin/sh", "-c"]):
            scripts.append(value[2])
    test = (service.get("healthcheck") or {}).get("test")
    if isinstance(test, list) and test[:1] == ["CMD-SHELL"]:
        scripts.append(test[1])
    return [interpolate(script, env_example()) for script in scripts]


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    lines, current = [], ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        current += " " + line.removesuffix("\\").strip()
        if not line.endswith("\\"):
            lines.append(current.strip())
            current = ""
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def image_tag(image: str) -> str:
    assert ":" in image.rsplit("/", 1)[-1], f"{image} has no tag: pin one"
    return image.rsplit(":", 1)[1]


def script_required_vars(script: Path) -> set[str]:
    """The variables a script insists on with `: "${NAME:?}"`."""
    return set(re.findall(r"\$\{(\w+):\?\}", script.read_text()))


# --- the file itself ---------------------------------------------------------------------------------


def test_compose_file_validates_against_the_compose_spec_schema() -> None:
    assert SCHEMA_FILE.is_file(), f"{SCHEMA_FILE.relative_to(ROOT)} is missing: `npm ci` installs dclint (package.json)"
    schema = json.loads(SCHEMA_FILE.read_text())
    assert schema.get("title") == "Compose Specification"
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(compose())]
    assert errors == []
    # The validator bites: a misspelt key or a wrong type is an error.
    broken = json.loads(json.dumps(compose()))
    broken["services"]["app"]["depends_onn"] = ["postgres"]
    broken["services"]["postgres"]["restart"] = ["always"]
    assert len(list(validator.iter_errors(broken))) >= 2


def test_every_variable_comes_from_env_example_or_has_a_default() -> None:
    example = env_example()
    used: dict[str, set[str | None]] = {}
    for text in strings(compose()):
        for m in VARIABLE.finditer(text):
            assert not m["bare"], f"${m['bare']} in {text!r}: write ${{{m['bare']}}}"
            assert m["invalid"] is None, f"a lone $ in {text!r}: write $$ for a literal $"
            if m["name"]:
                used.setdefault(m["name"], set()).add(m["op"])
                if m["op"] == ":-" and m["name"] in example and example[m["name"]] != "change-me":
                    assert m["arg"] == example[m["name"]], f"{m['name']}: default {m['arg']} != .env.example"
    assert {"POSTGRES_PASSWORD", "WALLET_DB", "PGBOUNCER_AUTH_PASSWORD"} <= used.keys()
    for name, ops in used.items():
        has_default = ops <= {":-", "-"}
        assert name in example or has_default, f"{name} is neither in .env.example nor given a default"
    # Compose must not hand the native stack's PgBouncer 1.18 a setting it refuses (.env is shared).
    assert "PGBOUNCER_MAX_PREPARED_STATEMENTS" not in example


def test_referenced_files_and_build_contexts_exist() -> None:
    declared_volumes = set(compose().get("volumes") or {})
    for name, service in services().items():
        env_files = service.get("env_file") or []
        for env_file in [env_files] if isinstance(env_files, str) else env_files:
            # .env is generated from .env.example and git-ignored.
            assert env_file in (".env", "./.env") and (ROOT / ".env.example").is_file(), name
            assert ".env" in (ROOT / ".gitignore").read_text().split(), ".env must stay git-ignored"
        if "build" in service:
            build = service["build"] if isinstance(service["build"], dict) else {"context": service["build"]}
            context = ROOT / build["context"]
            assert context.is_dir(), f"{name}: build context {context} is missing"
            assert (context / build.get("dockerfile", "Dockerfile")).is_file(), f"{name}: Dockerfile is missing"
        for volume in service.get("volumes") or []:
            source = volume["source"] if isinstance(volume, dict) else volume.split(":")[0]
            if source.startswith((".", "/")):
                assert (ROOT / source).exists(), f"{name}: bind mount {source} does not exist"
            else:
                assert source in declared_volumes, f"{name}: volume {source} is not declared"
        for source, _target, read_only in binds(service):
            assert read_only, f"{name}: mount {source} read-only (:ro): configuration is not written back"


def test_paths_the_containers_use_exist_in_the_checkout() -> None:
    """A path a container runs or reads under one of its bind mounts maps to a file here."""
    checked = set()
    for name, service in services().items():
        texts = [*commands(service), *container_env(name).values()]
        workdir = service.get("working_dir")
        for text in texts:
            for token in re.findall(r"(?<![\w$:/])(/?[\w.*-]+(?:/[\w.*-]+)+)", text):
                path = token if token.startswith("/") else f"{workdir}/{token}" if workdir else None
                if path is None or (host := host_path(service, path)) is None:
                    continue
                found = list(host.parent.glob(host.name)) if "*" in host.name else [host] if host.exists() else []
                assert found, f"{name} uses {path}, but {host.relative_to(ROOT)} does not exist"
                checked.add(str(host.relative_to(ROOT)))
    assert {"scripts/pgbouncer-config.sh", "scripts/set-role-passwords.sh", "pgtests/*.sql"} <= checked
    assert {"loadtest/locustfile.py", "liquibase/changelog.yaml"} <= checked


# --- start-up order ----------------------------------------------------------------------------------


def has_healthcheck(service: dict[str, Any]) -> bool:
    check = service.get("healthcheck")
    if check is not None:
        return not check.get("disable") and check.get("test") not in (None, ["NONE"], "NONE")
    if "build" in service:
        build = service["build"] if isinstance(service["build"], dict) else {"context": service["build"]}
        dockerfile = ROOT / build["context"] / build.get("dockerfile", "Dockerfile")
        checks = [args for op, args in dockerfile_instructions(dockerfile) if op == "HEALTHCHECK"]
        return bool(checks) and checks[-1].strip() != "NONE"
    return False


def test_depends_on_conditions_can_be_met() -> None:
    for name, service in services().items():
        depends = service.get("depends_on") or {}
        if isinstance(depends, list):
            depends = {target: {"condition": "service_started"} for target in depends}
        for target, spec in depends.items():
            assert target in services(), f"{name} depends on unknown {target}"
            other = services()[target]
            condition = spec.get("condition", "service_started")
            if condition == "service_healthy":
                assert has_healthcheck(other), f"{name} waits for {target} to be healthy; it has no healthcheck"
            elif condition == "service_completed_successfully":
                assert other.get("restart", "no") == "no", f"{target} is awaited to exit: restart must be 'no'"
            else:
                assert condition == "service_started", condition
            # A service that runs must find its dependencies enabled: their profiles cover its own.
            mine, theirs = set(service.get("profiles") or []), set(other.get("profiles") or [])
            assert not theirs or (mine and mine <= theirs), f"{name} {mine or '(always)'} needs {target} {theirs}"

    seen: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, f"dependency cycle: {' -> '.join((*path, name))}"
        if name not in seen:
            for target in services()[name].get("depends_on") or {}:
                visit(target, (*path, name))
            seen.add(name)

    for name in services():
        visit(name, ())


def test_one_shots_and_profiles() -> None:
    for name in ONE_SHOTS:
        assert services()[name].get("restart", "no") == "no", name
    for name in CORE:
        assert not services()[name].get("profiles"), f"{name} must start with a plain `docker compose up`"
    profiles = {name: set(s.get("profiles") or []) for name, s in services().items()}
    assert profiles["locust"] == {"load"}
    assert profiles["pgtap"] == profiles["test-db"] == profiles["liquibase-test"] == {"test"}
    assert profiles["prometheus"] == profiles["grafana"] == {"monitoring"}
    depends = services()["app"]["depends_on"]
    assert depends["pgbouncer"]["condition"] == "service_healthy"
    assert depends["liquibase"]["condition"] == depends["db-init"]["condition"] == "service_completed_successfully"
    assert services()["db-init"]["depends_on"]["liquibase"]["condition"] == "service_completed_successfully"
    assert services()["pgtap"]["depends_on"]["liquibase-test"]["condition"] == "service_completed_successfully"


def test_inline_shell_scripts_parse() -> None:
    scripts = [script for service in services().values() for script in shell_scripts(service)]
    assert len(scripts) >= 5
    for script in scripts:
        result = subprocess.run(["sh", "-n", "-c", script], capture_output=True, text=True, check=False)
        assert result.returncode == 0, f"{script}\n{result.stderr}"


# --- the native stack's own pieces -------------------------------------------------------------------


def test_compose_runs_the_native_stacks_scripts_changelog_and_tests() -> None:
    text = COMPOSE_FILE.read_text()
    for shared in ("scripts/pgbouncer-config.sh", "scripts/set-role-passwords.sh", "docker/pgbouncer.ini.template"):
        assert f"./{shared}:" in text, shared
    for shared in ("./liquibase:", "./sql:", "./pgtests:", "liquibase/changelog.yaml"):
        assert shared in text, shared

    # PgBouncer: the config script with the template where the script looks for it ($here/../docker).
    pgbouncer = services()["pgbouncer"]
    script = next(t for s, t, _ in binds(pgbouncer) if s == "./scripts/pgbouncer-config.sh")
    template = next(t for s, t, _ in binds(pgbouncer) if s == "./docker/pgbouncer.ini.template")
    assert PurePosixPath(template) == PurePosixPath(script).parent.parent / "docker" / "pgbouncer.ini.template"
    start = " ".join(commands(pgbouncer))
    config_dir = re.search(rf"sh {re.escape(script)} (\S+)", start)
    assert config_dir, start
    assert f"exec pgbouncer {config_dir[1]}/pgbouncer.ini" in start
    assert script_required_vars(ROOT / "scripts/pgbouncer-config.sh") <= container_env("pgbouncer").keys()

    # Passwords: the same script, with every variable it requires.
    db_init = services()["db-init"]
    assert commands(db_init)[:2] == ["sh", next(t for s, t, _ in binds(db_init) if s.endswith("set-role-passwords.sh"))]
    env = container_env("db-init")
    assert script_required_vars(ROOT / "scripts/set-role-passwords.sh") <= env.keys()
    assert {"PGHOST", "PGUSER", "PGPASSWORD", "PGDATABASE"} <= env.keys()

    # Liquibase: scripts/lib.sh's settings, directly on PostgreSQL, every include reachable.
    lib = (ROOT / "scripts/lib.sh").read_text()
    for name in ("liquibase", "liquibase-test"):
        service, env = services()[name], container_env(name)
        assert image_tag(service["image"]).startswith("4.28"), "the Liquibase of package.json"
        assert service["command"] == ["update"]
        for key in ("LIQUIBASE_COMMAND_CHANGELOG_FILE", "LIQUIBASE_COMMAND_USERNAME"):
            assert f"export {key}={env[key]}\n" in lib, f"{key}={env[key]} differs from scripts/lib.sh"
        assert env["LIQUIBASE_COMMAND_URL"].startswith("jdbc:postgresql://postgres:5432/"), "not through PgBouncer"
        search = PurePosixPath(env["LIQUIBASE_SEARCH_PATH"])
        changelog = yaml.safe_load((ROOT / env["LIQUIBASE_COMMAND_CHANGELOG_FILE"]).read_text())
        files = [env["LIQUIBASE_COMMAND_CHANGELOG_FILE"]] + [
            c["include"]["file"] for c in changelog["databaseChangeLog"]
        ]
        for file in files:
            host = host_path(service, str(search / file))
            assert host is not None and host == ROOT / file and host.is_file(), f"{name} cannot read {file}"
    db = env_example()["WALLET_DB"]
    assert container_env("liquibase")["LIQUIBASE_COMMAND_URL"].endswith(f"/{db}")
    # The native stack's test database name (scripts/lib.sh: TEST_DB="${DB}_test").
    assert 'TEST_DB="${DB}_test"' in lib
    assert container_env("liquibase-test")["LIQUIBASE_COMMAND_URL"].endswith(f"/{db}_test")
    assert container_env("test-db")["PGDATABASE"] == container_env("pgtap")["PGDATABASE"] == f"{db}_test"

    # pgTAP: the extension first, then pg_prove over pgtests/ (as scripts/pgtap.sh).
    run = commands(services()["pgtap"])[-1]
    assert run.index("CREATE EXTENSION IF NOT EXISTS pgtap") < run.index("pg_prove --failures pgtests/*.sql")
    image = (ROOT / "docker/postgres/Dockerfile").read_text()
    stack = (ROOT / "scripts/stack.sh").read_text()
    for package in ("libtap-parser-sourcehandler-pgtap-perl", "-pgtap"):
        assert package in stack and package in image, package


def test_pgbouncer_config_renders_for_compose_and_unchanged_for_the_native_stack(tmp_path: Path) -> None:
    script = ROOT / "scripts/pgbouncer-config.sh"
    base = {"PATH": "/usr/bin:/bin"}

    native = {**base, "PGBOUNCER_AUTH_PASSWORD": "x", "PGBOUNCER_PG_HOST": "127.0.0.1", "WALLET_PG_PORT": "55432"}
    subprocess.run(["sh", str(script), str(tmp_path / "native")], env={**native, "WALLET_DB": "wallet"}, check=True)
    ini = (tmp_path / "native/pgbouncer.ini").read_text()
    assert "max_prepared_statements" not in ini, "PgBouncer 1.18 (native) refuses max_prepared_statements"
    assert not re.search(r"@[A-Z_]+@", ini), "a placeholder was left unfilled"
    assert "listen_addr = 127.0.0.1\n" in ini and f"logfile = {tmp_path}/native/pgbouncer.log\n" in ini

    env = {**base, **container_env("pgbouncer")}
    subprocess.run(["sh", str(script), str(tmp_path / "compose")], env=env, check=True)
    ini = (tmp_path / "compose/pgbouncer.ini").read_text()
    assert not re.search(r"@[A-Z_]+@", ini), "a placeholder was left unfilled"
    port = env["WALLET_PGBOUNCER_PORT"]
    for line in ("listen_addr = 0.0.0.0", f"listen_port = {port}", "logfile = ", "pool_mode = transaction"):
        assert f"\n{line}\n" in ini, line
    assert f"host=postgres port=5432 dbname={env['WALLET_DB']}\n" in ini
    prepared = int(env["PGBOUNCER_MAX_PREPARED_STATEMENTS"])
    assert prepared > 0 and f"\nmax_prepared_statements = {prepared}\n" in ini
    assert ini.index("[pgbouncer]") < ini.index("max_prepared_statements")
    major, minor = (int(x) for x in re.findall(r"\d+", image_tag(services()["pgbouncer"]["image"]))[:2])
    assert (major, minor) >= (1, 21), "max_prepared_statements needs PgBouncer >= 1.21"

    # The app reaches PgBouncer where it listens, and caches statements only while PgBouncer keeps them.
    app = container_env("app")
    assert app["WALLET_DB_HOST"] == "pgbouncer"
    assert app["WALLET_API_HOST"] == "0.0.0.0"  # noqa: S104 - inside its container; published on loopback
    assert app["WALLET_DB_PORT"] == app["WALLET_PGBOUNCER_PORT"] == port
    assert int(app["WALLET_STATEMENT_CACHE_SIZE"]) > 0
    assert f"-p {port} " in " ".join(commands(services()["pgbouncer"]))
    assert f"@pgbouncer:{port}/pgbouncer" in container_env("pgbouncer-exporter")["PGBOUNCER_EXPORTER_CONNECTION_STRING"]


# --- exposure and images -----------------------------------------------------------------------------


def test_ports_are_published_on_loopback_only() -> None:
    published = 0
    for name, service in services().items():
        assert service.get("network_mode") != "host", name
        for port in service.get("ports") or []:
            published += 1
            if isinstance(port, dict):
                assert port.get("host_ip") == "127.0.0.1", f"{name}: {port}"
            else:
                assert str(port).startswith("127.0.0.1:"), f"{name}: {port} must be 127.0.0.1:HOST:CONTAINER"
                assert len(interpolate(str(port), env_example()).split(":")) == 3, f"{name}: {port}"
    assert published >= 6
    assert interpolate(services()["app"]["ports"][0], env_example()) == "127.0.0.1:8000:8000"


def test_images_are_pinned() -> None:
    for name, service in services().items():
        if "build" in service:
            continue  # built here from a pinned FROM, checked below
        tag = image_tag(service["image"])
        assert tag != "latest" and re.search(r"\d", tag), f"{name}: pin {service['image']}"
    for dockerfile in (DOCKERFILE, ROOT / "docker/postgres/Dockerfile"):
        for op, args in dockerfile_instructions(dockerfile):
            if op == "FROM":
                assert re.search(r"\d", image_tag(args.split()[0])), f"{dockerfile}: pin {args}"
    postgres = next(a for op, a in dockerfile_instructions(ROOT / "docker/postgres/Dockerfile") if op == "FROM")
    assert image_tag(postgres).startswith("15."), "PostgreSQL 15, as the native stack"
    locust = re.search(r"^locust==(\S+)$", (ROOT / "constraints.txt").read_text(), re.M)
    assert locust and image_tag(services()["locust"]["image"]) == locust[1], "the Locust of constraints.txt"


# --- the API image -----------------------------------------------------------------------------------


def test_dockerfile_builds_a_non_root_image_from_constraints_with_a_healthcheck() -> None:
    instructions = dockerfile_instructions(DOCKERFILE)
    ops = [op for op, _ in instructions]
    assert next(a for op, a in instructions if op == "FROM").startswith("python:3.11-slim")
    users = [a.strip() for op, a in instructions if op == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0"), "run as an unprivileged user"
    assert ops.index("USER") < ops.index("CMD")

    installs = [a for op, a in instructions if op == "RUN" and "pip install" in a]
    assert installs
    for args in installs:
        assert "-c constraints.txt" in args, args
        assert "[dev]" not in args and " -e " not in args, "runtime dependencies only, not editable"

    checks = [a for op, a in instructions if op == "HEALTHCHECK"]
    assert len(checks) == 1 and "urllib" in checks[0] and "/health" in checks[0] and "curl" not in checks[0]
    assert json.loads(next(a for op, a in instructions if op == "CMD")) == ["python", "-m", "api"]
    assert any(op == "ENV" and "WALLET_API_HOST=0.0.0.0" in a for op, a in instructions)


def excluded(path: str, rules: list[str]) -> bool:
    """.dockerignore semantics for the patterns used here (`*`, `name`, `**/name`, `!name`): the last
    matching rule wins, and a rule that matches a folder matches everything in it."""
    result = False
    parts = path.split("/")
    for rule in rules:
        negate, pattern = rule.startswith("!"), rule.removeprefix("!").rstrip("/")
        if pattern.startswith("**/"):
            hit = any(fnmatch(part, pattern[3:]) for part in parts)
        else:
            hit = any(fnmatch("/".join(parts[:i]), pattern) for i in range(1, len(parts) + 1))
        if hit:
            result = not negate
    return result


def test_dockerignore_keeps_secrets_out_and_what_the_build_copies_in() -> None:
    rules = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()]
    rules = [rule for rule in rules if rule and not rule.startswith("#")]
    for secret in (".env", ".run/pgdata/PG_VERSION", ".venv/bin/python", "node_modules/x", "tests/conftest.py"):
        assert excluded(secret, rules), secret
    for op, args in dockerfile_instructions(DOCKERFILE):
        if op == "COPY" and "--from" not in args:
            for source in shlex.split(args)[:-1]:
                assert (ROOT / source).exists(), source
                assert not excluded(source.rstrip("/"), rules), f"{source} is copied but .dockerignore drops it"
    assert not excluded("api/main.py", rules) and excluded("api/__pycache__/main.pyc", rules)


# --- monitoring --------------------------------------------------------------------------------------


def test_monitoring_scrapes_the_app_and_the_dashboard_uses_its_metrics() -> None:
    monitoring = ROOT / "docker/monitoring"
    prometheus = yaml.safe_load((monitoring / "prometheus.yml").read_text())
    targets = {
        target: job.get("metrics_path", "/metrics")
        for job in prometheus["scrape_configs"]
        for config in job["static_configs"]
        for target in config["targets"]
    }
    assert targets[f"app:{container_env('app')['WALLET_API_PORT']}"] == "/metrics"
    assert all(target.split(":")[0] in services() for target in targets)
    assert 'router.get("/metrics"' in (ROOT / "api/routes/health.py").read_text()

    datasources = yaml.safe_load((monitoring / "grafana/provisioning/datasources/prometheus.yml").read_text())
    (datasource,) = datasources["datasources"]
    assert datasource["url"] == "http://prometheus:9090"
    dashboards = yaml.safe_load((monitoring / "grafana/provisioning/dashboards/wallet.yml").read_text())
    folder = dashboards["providers"][0]["options"]["path"]
    grafana = services()["grafana"]
    assert host_path(grafana, folder) == monitoring / "grafana/dashboards"

    dashboard = json.loads((monitoring / "grafana/dashboards/wallet.json").read_text())
    exprs = " ".join(t["expr"] for p in dashboard["panels"] for t in p["targets"])
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == datasource["uid"], panel["title"]
    assert "wallet_http_request_duration_seconds_bucket" in exprs and "histogram_quantile(0.99" in exprs
    assert "sum by (state) (wallet_db_pool_connections)" in exprs and "pgbouncer_pools_" in exprs
    metrics = (ROOT / "api/metrics.py").read_text()
    for metric in set(re.findall(r"\b(wallet_\w+?)(?:_bucket|_count|_sum)?\b", exprs)):
        assert f'"{metric}"' in metrics or f'"{metric.removesuffix("_total")}"' in metrics, metric
