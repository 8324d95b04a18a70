"""Operations: /metrics shows what the tests did, health endpoints, and the deployment files
(compose.example.yml, .env.example, Dockerfile, scripts/setup_env.py) agree with what the
sidecar reads."""
from __future__ import annotations

import dataclasses
import io
import os
import re
import stat
import time

import pytest
import requests
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import RECONCILE_AUTH as TOKEN, WEBHOOK_AUTH as AUTH, Sidecar, ROOT, free_port, movie_request, replace, series_request, wait_for



def scrape(web) -> dict[tuple, float]:
    resp = requests.get(f"{web.url}/metrics", timeout=10)
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(resp.text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def value(samples, name, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


# --------------------------------------------------------------------------- /metrics


def test_metrics_show_what_happened(web, couch, settings, fake_radarr, start_worker):
    before = scrape(web)
    # an add by the worker (in this process, so its counters are ours too)
    worker = start_worker()
    couch.db(settings.movies_buffer_db).put(movie_request(603))
    wait_for(lambda: couch.db(settings.movies_db).get("tmdb:603") and not couch.db(settings.movies_buffer_db).get("tmdb:603"),
             message="moved")
    worker.stop()
    # webhooks: a new Grab, the same again, a Test, an unknown event, a bad one
    grab = {"eventType": "Grab", "movie": {"id": 9, "title": "Metric", "year": 2000, "tmdbId": 9001}}
    for payload in (grab, grab, {"eventType": "Test"}, {"eventType": "Whatever"}, {"eventType": "Grab"}):
        requests.post(f"{web.url}/webhooks/radarr", json=payload, auth=AUTH, timeout=10)
    # a reconcile over 5 more movies
    fake_radarr.add_many(5, start_id=700)
    result = requests.post(f"{web.url}/reconcile", headers=TOKEN, timeout=60).json()
    # buffer requests in every state
    mb, sb = couch.db(settings.movies_buffer_db), couch.db(settings.series_buffer_db)
    mb.bulk_docs([
        movie_request(1, requested_at="2026-01-01T00:00:00Z"), movie_request(2),
        movie_request(3, state="retry", attempts=2, next_attempt_at="2030-01-01T00:00:00Z",
                      last_error={"code": "http_503", "message": "down", "at": "2026-11-25T10:00:00Z"}),
        movie_request(4, state="failed", attempts=1,
                      last_error={"code": "x", "message": "unknown id", "at": "2026-11-25T10:00:00Z"}),
    ])
    sb.put(series_request(81189))

    after = scrape(web)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("sidecar_arr_adds_total", arr="radarr", outcome="added") == 1
    assert delta("sidecar_items_moved_total", kind="movie") == 1
    assert delta("sidecar_webhook_events_total", arr="radarr", event="Grab", outcome="written") == 1
    assert delta("sidecar_webhook_events_total", arr="radarr", event="Grab", outcome="unchanged") == 1
    assert delta("sidecar_webhook_events_total", arr="radarr", event="Grab", outcome="invalid_payload") == 1
    assert delta("sidecar_webhook_events_total", arr="radarr", event="Test", outcome="test_ok") == 1
    assert delta("sidecar_webhook_events_total", arr="radarr", event="other", outcome="unknown_event") == 1
    assert delta("sidecar_reconcile_runs_total", result="ok") == 1
    assert result["added"] == 5
    assert value(after, "sidecar_reconcile_last_docs", outcome="added") == 5
    assert value(after, "sidecar_reconcile_last_docs", outcome="unchanged") == result["unchanged"]
    assert value(after, "sidecar_reconcile_last_success") == 1
    assert abs(value(after, "sidecar_reconcile_last_timestamp_seconds") - time.time()) < 60
    assert value(after, "sidecar_couchdb_up") == 1
    m, s = settings.movies_buffer_db, settings.series_buffer_db
    assert value(after, "sidecar_buffer_items", db=m, state="new") == 2
    assert value(after, "sidecar_buffer_items", db=m, state="retry") == 1
    assert value(after, "sidecar_buffer_items", db=m, state="failed") == 1
    assert value(after, "sidecar_buffer_items", db=s, state="new") == 1
    assert value(after, "sidecar_buffer_items", db=s, state="failed") == 0
    # the oldest new movie request waits since 2026-01-01
    assert value(after, "sidecar_buffer_lag_seconds", db=m) > 3600


def test_last_reconcile_of_another_process_shows_too(web, couch, settings, fake_sonarr):
    from sidecar.reconcile import run_reconcile

    fake_sonarr.add_many(4)
    run_reconcile(dataclasses.replace(settings, radarr=()))  # e.g. the CLI from cron
    assert value(scrape(web), "sidecar_reconcile_last_docs", outcome="added") == 4


def test_metrics_answer_when_couchdb_is_down(settings):
    web = Sidecar(dataclasses.replace(settings, couchdb_url=f"http://127.0.0.1:{free_port()}"))
    try:
        t0 = time.monotonic()
        samples = scrape(web)
        assert time.monotonic() - t0 < 5
    finally:
        web.stop()
    assert value(samples, "sidecar_couchdb_up") == 0
    assert not [k for k in samples if k[0] == "sidecar_buffer_items"]


def test_health_endpoints(web, settings, fake_radarr):
    assert requests.get(f"{web.url}/healthz", timeout=5).json() == {"status": "ok"}
    ready = requests.get(f"{web.url}/readyz", timeout=10)
    assert ready.status_code == 200 and ready.json()["ready"] is True
    fake_radarr.fail_mode = "503"
    not_ready = requests.get(f"{web.url}/readyz", timeout=10)
    assert not_ready.status_code == 503 and "radarr:default" in not_ready.json()["checks"]
    missing = requests.get(f"{web.url}/nope", timeout=5)
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"


def test_no_secrets_in_logs(sidecar_capfd_app, fake_radarr):
    web, settings, capfd = sidecar_capfd_app
    fake_radarr.add_many(3)
    requests.post(f"{web.url}/reconcile", headers=TOKEN, timeout=30)
    requests.post(f"{web.url}/reconcile", headers={"Authorization": "Bearer wrong-token-value"}, timeout=30)
    requests.post(f"{web.url}/webhooks/radarr", json={"eventType": "Test"}, auth=AUTH, timeout=10)
    err = capfd.readouterr().err
    assert "reconcile" in err
    for secret in ("reconcile-secret-token", "wrong-token-value", "hook-secret-pw", settings.radarr[0].api_key,
                   settings.sonarr[0].api_key):
        assert secret not in err


@pytest.fixture
def sidecar_capfd_app(settings, capfd):
    server = Sidecar(settings)  # created inside the test's capture, so its log lines land in capfd
    yield server, settings, capfd
    server.stop()


# --------------------------------------------------------------------------- what the sidecar reads


def names_read_by_sidecar():
    """(exact names, per-instance suffixes, secret names) from the sources of config.py,
    __main__.py and worker.py: the ground truth of which variables the sidecar reads."""
    src = "".join((ROOT / "sidecar" / f).read_text(encoding="utf-8") for f in ("config.py", "__main__.py", "worker.py"))
    exact = set(re.findall(r'(?:env\.get|environ\.get|_secret|_int|_float)\((?:env, )?"([A-Z][A-Z0-9_]*)"', src))
    suffixes = set(re.findall(r'f"\{(?:p|prefix)\}_([A-Z][A-Z0-9_]*)"', src))
    secrets_ = set(re.findall(r'_secret\(env, "([A-Z][A-Z0-9_]*)"', src))
    secret_suffixes = set(re.findall(r'_secret\(env, f"\{p\}_([A-Z][A-Z0-9_]*)"', src))
    assert "COUCHDB_URL" in exact and "URL" in suffixes and "API_KEY" in secret_suffixes  # the parse works
    return exact, suffixes, secrets_, secret_suffixes


def is_read(name: str) -> bool:
    exact, suffixes, secrets_, secret_suffixes = names_read_by_sidecar()
    if name in exact or name in {f"{s}_FILE" for s in secrets_}:
        return True
    every = "|".join(sorted(suffixes | {f"{s}_FILE" for s in secret_suffixes}, key=len, reverse=True))
    return bool(re.fullmatch(rf"(RADARR|SONARR)(_[A-Z0-9_]+?)?_({every})", name))


def env_example_names() -> set[str]:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    return set(re.findall(r"^#?([A-Z][A-Z0-9_]*)=", text, re.M))


def test_env_example_lists_exactly_what_the_sidecar_reads():
    listed = env_example_names()
    exact, suffixes, secrets_, secret_suffixes = names_read_by_sidecar()
    unknown = sorted(n for n in listed if not is_read(n))
    assert not unknown, f".env.example names variables the sidecar never reads: {unknown}"
    expected = exact | {f"{s}_FILE" for s in secrets_}
    expected |= {f"{kind}_{s}" for kind in ("RADARR", "SONARR") for s in suffixes | {f"{x}_FILE" for x in secret_suffixes}}
    missing = sorted(expected - listed)
    assert not missing, f".env.example lacks: {missing}"


def test_env_example_copied_verbatim_changes_nothing():
    # all commented: `cp .env.example .env` keeps the dev defaults (local server, fakes), and
    # no placeholder secret can end up in production
    from dotenv import dotenv_values

    assert {k: v for k, v in dotenv_values(ROOT / ".env.example").items() if v is not None} == {}
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    for secret in ("COUCHDB_PASSWORD", "WEBHOOK_PASSWORD", "RECONCILE_TOKEN", "RADARR_API_KEY", "SONARR_API_KEY"):
        assert re.search(rf"^#{secret}=$", text, re.M), f"{secret} must have no example value"


# --------------------------------------------------------------------------- compose, Dockerfile


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((ROOT / "compose.example.yml").read_text(encoding="utf-8"))


REQUIRED = {"COUCHDB_URL", "COUCHDB_USER", "COUCHDB_PASSWORD", "RADARR_URL", "RADARR_API_KEY", "SONARR_URL",
            "SONARR_API_KEY", "WEBHOOK_PASSWORD", "RECONCILE_TOKEN"}


def sidecar_services(compose) -> dict:
    return {name: svc for name, svc in compose["services"].items() if "build" in svc}


def test_compose_has_every_service(compose):
    services = compose["services"]
    assert services["couchdb"]["image"].startswith("couchdb:3")
    assert services["radarr"]["image"].startswith("lscr.io/linuxserver/radarr")
    assert services["sonarr"]["image"].startswith("lscr.io/linuxserver/sonarr")
    assert set(sidecar_services(compose)) == {"sidecar-setup", "sidecar-web", "sidecar-worker"}
    assert "gunicorn" in services["sidecar-web"]["command"] and "sidecar.app:create_app()" in services["sidecar-web"]["command"]
    assert services["sidecar-worker"]["command"][-1] == "worker"
    assert services["sidecar-setup"]["command"][-1] == "scripts/push_design.py"
    cron = " ".join(services["reconcile-cron"]["command"])
    assert "curl" in cron and "/reconcile" in cron and "Authorization: Bearer $${RECONCILE_TOKEN}" in cron
    assert "-X POST" in cron
    # CouchDB: admin from .env, single node, CORS for the browser frontend
    couch_env = services["couchdb"]["environment"]
    assert couch_env["COUCHDB_USER"].startswith("${COUCHDB_USER") and "NODENAME" in couch_env
    ini = compose["configs"]["couchdb-ini"]["content"]
    assert "single_node = true" in ini and "enable_cors = true" in ini and "origins =" in ini
    # Radarr/Sonarr get the same API key the sidecar uses
    assert services["radarr"]["environment"]["RADARR__AUTH__APIKEY"].startswith("${RADARR_API_KEY")
    assert services["sonarr"]["environment"]["SONARR__AUTH__APIKEY"].startswith("${SONARR_API_KEY")


def test_compose_sidecar_env_is_what_the_sidecar_reads(compose):
    for name, svc in sidecar_services(compose).items():
        env = svc["environment"]
        assert isinstance(env, dict), name
        unknown = sorted(k for k in env if not is_read(k))
        assert not unknown, f"{name} sets variables the sidecar does not read: {unknown}"
        missing = sorted(REQUIRED - set(env))
        assert not missing, f"{name} lacks required settings: {missing}"
        assert env["COUCHDB_URL"] == "http://couchdb:5984"
        for secret in ("COUCHDB_PASSWORD", "RADARR_API_KEY", "SONARR_API_KEY", "WEBHOOK_PASSWORD", "RECONCILE_TOKEN"):
            assert env[secret].startswith("${"), f"{name}: {secret} must come from .env, not the file"
    assert sidecar_services(compose)["sidecar-worker"]["environment"]["WORKER_ID"]


def test_compose_variables_are_documented(compose):
    text = (ROOT / "compose.example.yml").read_text(encoding="utf-8")
    used = set(re.findall(r"(?<!\$)\$\{([A-Z][A-Z0-9_]*)", text))
    compose_only = {"TZ", "MEDIA_DIR", "DOWNLOADS_DIR", "RECONCILE_EVERY"}  # for compose itself, with defaults
    undocumented = sorted(n for n in used - compose_only if n not in env_example_names())
    assert not undocumented, undocumented


def test_dockerfile_and_dockerignore():
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.\d+", dockerfile, re.M)
    assert re.search(r"^USER (?!root)\w+", dockerfile, re.M)
    assert "COPY couch" in dockerfile and "COPY sidecar" in dockerfile
    env_lines = [line for line in dockerfile.splitlines() if line.startswith("ENV")]
    assert not [line for line in env_lines if re.search(r"PASSWORD|API_KEY|TOKEN", line)]
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    for entry in (".env", ".venv", "node_modules", ".git", "tests"):
        assert entry in ignored


# --------------------------------------------------------------------------- scripts/setup_env.py


@pytest.fixture
def setup_env_run(settings, couch, tmp_path, fake_radarr, fake_sonarr):
    import setup_env

    env_file = tmp_path / ".env"
    dbs = {"MOVIES_BUFFER_DB": f"{settings.movies_buffer_db}_s", "MOVIES_DB": f"{settings.movies_db}_s",
           "SERIES_BUFFER_DB": f"{settings.series_buffer_db}_s", "SERIES_DB": f"{settings.series_db}_s"}
    base = {"COUCHDB_URL": settings.couchdb_url, "RADARR_URL": fake_radarr.url, "RADARR_API_KEY": fake_radarr.api_key,
            "SONARR_URL": fake_sonarr.url, "SONARR_API_KEY": fake_sonarr.api_key, "PATH": os.environ.get("PATH", ""),
            **dbs}
    if settings.couchdb_user:
        base.update(COUCHDB_USER=settings.couchdb_user, COUCHDB_PASSWORD=settings.couchdb_password or "")

    def run(*args, env=None, answers=None, secrets_=None):
        out = io.StringIO()
        answers_it, secrets_it = iter(answers or []), iter(secrets_ or [])
        rc = setup_env.main(["--env-file", str(env_file), *args], env=base if env is None else env,
                            ask=lambda q: next(answers_it, ""), ask_secret=lambda q: next(secrets_it, ""), out=out)
        return rc, out.getvalue()

    run.env_file, run.base, run.dbs = env_file, base, dbs
    yield run
    for name in dbs.values():
        couch.db(name).delete_db()


def test_setup_env_non_interactive_checks_writes_and_pushes(setup_env_run, couch):
    run = setup_env_run
    rc, out = run("--non-interactive")
    assert rc == 0, out
    mode = stat.S_IMODE(run.env_file.stat().st_mode)
    assert mode == 0o600
    from dotenv import dotenv_values

    written = dotenv_values(run.env_file)
    assert written["RADARR_URL"] == run.base["RADARR_URL"] and written["RADARR_API_KEY"] == run.base["RADARR_API_KEY"]
    assert written["RADARR_INSTANCE_NAME"] == "Radarr" and written["SONARR_INSTANCE_NAME"] == "Sonarr"
    assert len(written["WEBHOOK_PASSWORD"]) >= 24 and len(written["RECONCILE_TOKEN"]) >= 24
    assert written["MOVIES_DB"] == run.dbs["MOVIES_DB"] and "PATH" not in written
    for name in run.dbs.values():
        assert couch.db(name).exists()
    assert couch.db(run.dbs["MOVIES_DB"]).get("_design/collection") is not None
    # secrets are never printed
    for secret in (run.base["RADARR_API_KEY"], written["WEBHOOK_PASSWORD"], written["RECONCILE_TOKEN"]):
        assert secret not in out
    # again: keeps the generated secrets, design docs unchanged
    rc, out = run("--non-interactive")
    assert rc == 0 and dotenv_values(run.env_file)["WEBHOOK_PASSWORD"] == written["WEBHOOK_PASSWORD"]
    assert "unchanged" in out


@pytest.mark.parametrize("change,words", [
    ({"RADARR_API_KEY": "wrong-key"}, "refused the API key"),
    ({"RADARR_URL": "http://127.0.0.1:1"}, "could not connect to Radarr at http://127.0.0.1:1"),
    ({"COUCHDB_URL": "http://127.0.0.1:1"}, "CouchDB at http://127.0.0.1:1 cannot be reached"),
    ("swap", "swapped addresses"),
])
def test_setup_env_refuses_what_does_not_work(setup_env_run, change, words):
    run = setup_env_run
    env = dict(run.base)
    if change == "swap":
        env.update(RADARR_URL=run.base["SONARR_URL"], RADARR_API_KEY=run.base["SONARR_API_KEY"])
    else:
        env.update(change)
    rc, out = run("--non-interactive", env=env)
    assert rc == 1 and words in out and "nothing written" in out
    assert not run.env_file.exists()


def test_setup_env_interactive_asks_checks_and_keeps_other_lines(setup_env_run, fake_radarr):
    run = setup_env_run
    run.env_file.write_text("TZ=Europe/Berlin\nRADARR_API_KEY=old-key\n", encoding="utf-8")
    env = {k: v for k, v in run.base.items() if k not in ("RADARR_API_KEY", "SONARR_URL", "SONARR_API_KEY")}
    # answers: couchdb url (keep), user (keep), radarr url (keep), sonarr url "-" (none), webhook user;
    # then a retry after the wrong key: yes, radarr url (keep)
    answers = ["", "", "", "-", "hooks", "y", ""]
    secrets_ = ["", "wrong-key-first", "", "", fake_radarr.api_key]  # couch pw, radarr key, hook pw, token, retry
    rc, out = run(env=env, answers=answers, secrets_=secrets_)
    assert rc == 0, out
    assert "refused the API key" in out and "Sonarr   not configured" in out
    from dotenv import dotenv_values

    written = dotenv_values(run.env_file)
    assert written["RADARR_API_KEY"] == fake_radarr.api_key and written["SONARR_URL"] == ""
    assert written["WEBHOOK_USER"] == "hooks" and written["TZ"] == "Europe/Berlin"
    assert stat.S_IMODE(run.env_file.stat().st_mode) == 0o600


def test_readyz_names_cors_origins_couchdb_does_not_allow(settings, sidecar, couch):
    """CORS_ORIGINS set for the page, CouchDB's own CORS list without it: /readyz says which."""
    s = replace(settings, cors_origins=("http://not-allowed.example:8000",))
    body = requests.get(f"{sidecar(s).url}/readyz", timeout=10).json()
    assert "http://not-allowed.example:8000" in body["checks"]["cors"] and body["ready"] is False
