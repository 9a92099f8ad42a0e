"""What ships: the Docker build context, the wheel built from it, the lock file, docker-compose.

The image once copied every package but `metrics/` and could not start. Docker can't run here,
so the image is checked by construction: the build context is rebuilt from the files git knows
minus .dockerignore, the Dockerfile's COPY lines are applied to it, and the wheel built from the
result must hold every package, the migrations and the compiled catalogues, and start (`import
bot.app`, `nexus --help`, a Ukrainian text).
"""

from __future__ import annotations

import fnmatch
import importlib.metadata
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent


# ------------------------------------------------------------------ the Docker build context
def dockerignore_patterns() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    patterns = [line.strip().rstrip("/") for line in lines if line.strip() and line[0] != "#"]
    assert not any(p.startswith("!") for p in patterns), "exceptions (!) are not modelled here"
    return patterns


def ignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule: a pattern excludes the path it matches and everything below it;
    ``**/`` matches any number of leading directories."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        for prefix in prefixes:
            if fnmatch.fnmatchcase(prefix, pattern):
                return True
            if pattern.startswith("**/"):
                tails = ["/".join(prefix.split("/")[i:]) for i in range(prefix.count("/") + 1)]
                if any(fnmatch.fnmatchcase(tail, pattern[3:]) for tail in tails):
                    return True
    return False


def build_context() -> list[str]:
    """What `docker build .` sends: the repository's files (tracked, or new and not git-ignored)
    minus the .dockerignore patterns."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    patterns = dockerignore_patterns()
    return sorted(
        p for p in listed.split("\0") if p and (ROOT / p).is_file() and not ignored(p, patterns)
    )


def copy_like_the_dockerfile(target: Path) -> None:
    """Apply every `COPY <src>... <dest>` of the Dockerfile (dest relative to WORKDIR)."""
    context = build_context()
    copies = [
        shlex.split(line)[1:]
        for line in (ROOT / "Dockerfile").read_text().splitlines()
        if line.startswith("COPY ")
    ]
    assert copies, "the Dockerfile copies nothing"
    for *sources, dest in copies:
        assert not any(s.startswith("--") for s in sources), "COPY flags are not modelled here"
        for source in sources:
            source = source.strip("/").removeprefix("./") or "."
            for path in context:
                if source == ".":
                    relative = path
                elif path.startswith(source + "/"):
                    relative = path[len(source) + 1 :]
                elif path == source:
                    relative = Path(path).name if dest.endswith("/") else ""
                else:
                    continue
                out = target / dest / relative
                out.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / path, out)


def project_packages() -> set[str]:
    """Every package of the project (a directory with __init__.py), tests and bench aside."""
    tops = [
        d
        for d in ROOT.iterdir()
        if (d / "__init__.py").is_file() and d.name not in ("tests", "bench")
    ]
    return {
        str(init.parent.relative_to(ROOT)).replace("/", ".")
        for top in tops
        for init in top.rglob("__init__.py")
    }


def test_the_context_leaves_out_tests_secrets_and_local_state() -> None:
    context = build_context()
    assert "pyproject.toml" in context and "requirements.lock" in context
    assert "metrics/__init__.py" in context and "storage/migrations/env.py" in context
    for path in context:
        assert not path.startswith(("tests/", "bench/", ".git/", ".venv/", "data/")), path
        assert "__pycache__" not in path and path != ".env", path


def test_the_wheel_built_from_what_the_dockerfile_copies_holds_everything_and_starts(
    tmp_path: Path,
) -> None:
    app = tmp_path / "app"
    copy_like_the_dockerfile(app)
    run(
        [sys.executable, "-m", "pip", "wheel", str(app), "--no-deps", "--no-build-isolation"]
        + ["--no-index", "-q", "-w", str(tmp_path / "dist")]
    )
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())

    in_wheel = {n.rsplit("/", 1)[0].replace("/", ".") for n in names if n.endswith("/__init__.py")}
    assert project_packages() <= in_wheel, sorted(project_packages() - in_wheel)
    migrations = {
        str(p.relative_to(ROOT))
        for p in (ROOT / "storage/migrations").rglob("*")
        if p.suffix in (".py", ".mako")
    }
    assert migrations <= names, sorted(migrations - names)

    site = tmp_path / "site"
    run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q"]
        + ["--target", str(site), str(wheel)]
    )
    env = {"PYTHONPATH": str(site), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    where = run([sys.executable, "-c", "import bot, bot.app; print(bot.__file__)"], tmp_path, env)
    assert where.startswith(str(site)), where  # the wheel's modules, not the repository's
    helped = run([str(site / "bin" / "nexus"), "--help"], tmp_path, env)
    assert "run" in helped and "worker" in helped

    # the catalogues ship compiled (build_catalogues.py), and a Ukrainian owner reads Ukrainian
    for language in ("en", "ru", "uk"):
        folder = f"ui/locales/{language}/LC_MESSAGES"
        assert {f"{folder}/nexus.po", f"{folder}/nexus.mo"} <= names, language
    said = run([sys.executable, "-c", SAY_IN_UKRAINIAN], tmp_path, env)
    assert said.splitlines() == [
        f"{site / 'ui' / 'locales' / 'uk' / 'LC_MESSAGES' / 'nexus.mo'} True",
        "Цієї чернетки більше немає.",
        "🖼 5 зображень",
    ]


#: Run from the installed wheel: which compiled catalogue is there, and two Ukrainian texts.
SAY_IN_UKRAINIAN = """
from ui.catalogues import LOCALES
from ui.texts import Texts, language_for
t = Texts(language_for("uk-UA"))
mo = LOCALES / "uk" / "LC_MESSAGES" / "nexus.mo"
print(mo, mo.is_file())
print(t("draft.gone"))
print(t.n("preview.images", 5))
"""


def run(argv: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    """Run a command to completion; its stdout, or a failure showing its stderr."""
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{argv[:4]} failed:\n{done.stderr[-3000:]}"
    return done.stdout.strip()


# ------------------------------------------------------------------ the lock file
def locked() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        found = re.match(r"^([A-Za-z0-9_.\-]+)==([^\s;\\]+)", line)
        if found:
            pins[canonicalize_name(found.group(1))] = found.group(2)
    return pins


def runtime_requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(spec) for spec in project["dependencies"]]


def test_the_lock_pins_every_runtime_dependency_within_its_range() -> None:
    pins = locked()
    for requirement in runtime_requirements():
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is not in requirements.lock: regenerate it (README)"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"requirements.lock pins {name}=={pins[name]}, outside {requirement.specifier}"
        )
        for extra in requirement.extras:  # sqlalchemy[asyncio] needs greenlet pinned too
            needs = importlib.metadata.requires(requirement.name) or []
            for spec in map(Requirement, needs):
                if spec.marker and spec.marker.evaluate({"extra": extra}):
                    assert canonicalize_name(spec.name) in pins, f"{spec.name} ({name}[{extra}])"


@pytest.mark.parametrize("requirement", runtime_requirements(), ids=lambda r: r.name)
def test_every_runtime_dependency_has_a_floor_and_a_cap(requirement: Requirement) -> None:
    operators = {spec.operator for spec in requirement.specifier}
    assert ">=" in operators, f"{requirement.name} needs a floor"
    calendar_versioned = {"tzdata", "regex"}  # no major to cap (see pyproject.toml)
    assert "<" in operators or requirement.name in calendar_versioned, requirement


# ------------------------------------------------------------------ docker-compose.yml
def test_compose_runs_a_bot_a_worker_and_postgres_with_health_checks() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"db", "bot", "worker"}
    db = services["db"]
    assert db["image"].startswith("postgres:16")
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert any(v.endswith(":/var/lib/postgresql/data") for v in db["volumes"])
    assert set(compose["volumes"]) >= {v.split(":")[0] for v in db["volumes"]}
    for name in ("bot", "worker"):
        service = services[name]
        assert service["depends_on"] == {"db": {"condition": "service_healthy"}}, name
        assert service["env_file"] == ".env" and "healthcheck" in service, name
        url = service["environment"]["NEXUS_DATABASE_URL"]
        assert url.startswith("postgresql+asyncpg://") and "@db:5432/" in url, url
        assert "${POSTGRES_PASSWORD" in url  # from .env, never written here
    assert services["bot"]["command"][:2] == ["nexus", "run"]
    assert services["worker"]["command"] == ["nexus", "worker"]
    assert "/health" in " ".join(services["bot"]["healthcheck"]["test"])
