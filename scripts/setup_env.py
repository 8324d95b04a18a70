#!/usr/bin/env python3
"""Set up .env: ask for (or, with --non-interactive, read from the environment) the CouchDB
address and the Radarr/Sonarr URLs and API keys, check each one, write .env (mode 0600) and push
the design docs.

    python scripts/setup_env.py                    ask, with the current values as defaults
    python scripts/setup_env.py --non-interactive  take everything from the environment / .env

Checks: CouchDB `GET /` (and that the credentials work), Radarr/Sonarr
`GET /api/v3/system/status` with the key (and that it is Radarr, not Sonarr, and vice versa).
An empty RADARR_URL / SONARR_URL means "run without it". WEBHOOK_PASSWORD and RECONCILE_TOKEN
are generated when empty. Other sidecar settings already in the environment or in .env (any name
in .env.example) are kept. Secrets are never printed. Exit 0 when all is well, 1 otherwise
(nothing is written then).
"""
from __future__ import annotations

import argparse
import getpass
import os
import re
import secrets
import sys
from pathlib import Path
from typing import Callable

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sidecar.arr import client_for  # noqa: E402
from sidecar.config import ArrInstance, ConfigError, load_settings  # noqa: E402

# (name, question, secret?)
ASKED = [
    ("COUCHDB_URL", "CouchDB address", False),
    ("COUCHDB_USER", "CouchDB admin user", False),
    ("COUCHDB_PASSWORD", "CouchDB admin password", True),
    ("RADARR_URL", "Radarr URL (empty: no Radarr)", False),
    ("RADARR_API_KEY", "Radarr API key (Settings > General > Security)", True),
    ("SONARR_URL", "Sonarr URL (empty: no Sonarr)", False),
    ("SONARR_API_KEY", "Sonarr API key (Settings > General > Security)", True),
    ("WEBHOOK_USER", "User name Radarr/Sonarr send with webhooks", False),
    ("WEBHOOK_PASSWORD", "Webhook password (empty: generate one)", True),
    ("RECONCILE_TOKEN", "Token for POST /reconcile (empty: generate one)", True),
]
DEFAULTS = {"COUCHDB_URL": "http://127.0.0.1:5984", "WEBHOOK_USER": "webhook"}
GENERATED = ("WEBHOOK_PASSWORD", "RECONCILE_TOKEN")
MAX_ROUNDS = 5  # interactive: ask again after a failed check at most this often


class CheckFailed(Exception):
    """A service did not answer as it should; the message says what to fix."""


def known_names(example: Path = ROOT / ".env.example") -> set[str]:
    """Every setting the sidecar reads: the names in .env.example (set or commented)."""
    if not example.exists():
        return {name for name, _, _ in ASKED}
    return set(re.findall(r"^#?([A-Z][A-Z0-9_]*)=", example.read_text(encoding="utf-8"), re.M))


def read_env_file(path: Path) -> dict[str, str]:
    from dotenv import dotenv_values

    if not path.exists():
        return {}
    return {k: v for k, v in dotenv_values(path).items() if v is not None}


# --------------------------------------------------------------------------- checks


def check_couchdb(url: str, user: str | None, password: str | None) -> str:
    auth = (user, password or "") if user else None
    try:
        resp = requests.get(url.rstrip("/") + "/", auth=auth, timeout=5)
    except requests.RequestException as exc:
        raise CheckFailed(f"CouchDB at {url} cannot be reached ({type(exc).__name__}); is it running?") from None
    if resp.status_code == 401:
        raise CheckFailed(f"CouchDB at {url} refused the user {user!r} (401): check COUCHDB_USER/COUCHDB_PASSWORD")
    try:
        body = resp.json()
    except ValueError:
        body = {}
    if resp.status_code != 200 or not ({"couchdb", "express-pouchdb"} & set(body)):
        raise CheckFailed(f"{url} answered {resp.status_code} but is not CouchDB")
    if user:
        # GET / answers anyone: make sure the credentials are real
        session = requests.get(url.rstrip("/") + "/_session", auth=auth, timeout=5)
        name = (session.json().get("userCtx") or {}).get("name") if session.ok else None
        if session.status_code == 401 or name is None:
            raise CheckFailed(f"CouchDB at {url} does not accept the user {user!r}: check COUCHDB_USER/COUCHDB_PASSWORD")
    if "couchdb" not in body:
        return f"pouchdb-server {body.get('version', '?')} (the development server; production is CouchDB 3)"
    return f"CouchDB {body.get('version', '?')}"


def check_arr(app: str, url: str, api_key: str) -> dict:
    """The app's system status (appName, instanceName, version), checked by the sidecar's own
    client (sidecar.arr.ServarrClient.identify): the same reasons as /readyz, naming what to change."""
    if not api_key:
        raise CheckFailed(f"{app.upper()}_API_KEY is empty (find it in {app} > Settings > General > Security)")
    client = client_for(ArrInstance(app.lower(), "default", url.rstrip("/"), api_key), timeout=5)
    try:
        status, problems = client.identify()
    finally:
        client.session.close()
    if problems:
        raise CheckFailed("; ".join(problems))
    return status


# --------------------------------------------------------------------------- .env


def write_env_file(path: Path, values: dict[str, str], keep: dict[str, str]) -> None:
    """Write atomically with mode 0600 from the start (the file holds secrets)."""
    asked = [name for name, _, _ in ASKED]
    lines = ["# written by scripts/setup_env.py; see .env.example for every setting", ""]
    lines += [f"{name}={_quote(values.get(name, ''))}" for name in asked]
    # everything else: what the old file had (compose settings such as TZ too), updated
    extra = {k: v for k, v in {**keep, **values}.items() if k not in asked}
    if extra:
        lines.append("")
        lines += [f"{k}={_quote(v)}" for k, v in sorted(extra.items())]
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        os.fchmod(fh.fileno(), 0o600)  # an old .tmp may have had other modes
        fh.write("\n".join(lines) + "\n")
    os.replace(tmp, path)


def _quote(value: str) -> str:
    if value == "" or re.fullmatch(r"[A-Za-z0-9_./:@,+=-]+", value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None, env: dict[str, str] | None = None,
         ask: Callable[[str], str] = input, ask_secret: Callable[[str], str] = getpass.getpass,
         out=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--non-interactive", action="store_true", help="take every value from the environment / .env")
    parser.add_argument("--env-file", default=str(ROOT / ".env"), help="where to write (default: .env)")
    parser.add_argument("--no-push", action="store_true", help="do not push the design docs")
    args = parser.parse_args(argv)
    out = out or sys.stdout
    env_file = Path(args.env_file)

    def say(msg: str) -> None:
        print(msg, file=out, flush=True)

    names = known_names()
    existing = read_env_file(env_file)
    source = dict(os.environ) if env is None else dict(env)
    # the environment wins over an older .env; only sidecar settings are carried over
    values = {k: v for k, v in existing.items() if k in names}
    values.update({k: v for k, v in source.items() if k in names and v != ""})
    for name, default in DEFAULTS.items():
        values.setdefault(name, default)

    def prompt(name: str, question: str, secret: bool) -> None:
        current = values.get(name, "")
        if secret:
            hint = " [keep current]" if current else ""
            answer = ask_secret(f"{question}{hint}: ")
        else:
            answer = ask(f"{question} [{current}]: ")
        answer = answer.strip()
        if answer == "-":  # a way to clear a value (e.g. no Sonarr)
            values[name] = ""
        elif answer:
            values[name] = answer

    if not args.non_interactive:
        say(f"Setting up {env_file} (Enter keeps the value in brackets, '-' clears it).")
        for name, question, secret in ASKED:
            if name.endswith("_API_KEY") and not values.get(name.replace("_API_KEY", "_URL")):
                continue
            prompt(name, question, secret)

    for name in GENERATED:
        if not values.get(name):
            values[name] = secrets.token_urlsafe(24)
            say(f"{name}: generated a new one (it is in {env_file.name})")

    # --- checks (interactive: ask again until it works or the user gives up)
    problems = []
    for attempt in range(1, MAX_ROUNDS + 1):
        problems = []
        try:
            say(f"CouchDB  {values['COUCHDB_URL']}: " + check_couchdb(values["COUCHDB_URL"], values.get("COUCHDB_USER"),
                                                                     values.get("COUCHDB_PASSWORD")))
        except CheckFailed as exc:
            problems.append(("COUCHDB", str(exc)))
        for app in ("Radarr", "Sonarr"):
            prefix = app.upper()
            url = values.get(f"{prefix}_URL", "")
            if not url:
                say(f"{app:8} not configured ({prefix}_URL empty): the sidecar runs without it")
                continue
            try:
                status = check_arr(app, url, values.get(f"{prefix}_API_KEY", ""))
                say(f"{app:8} {url}: {status.get('appName', app)} {status.get('version', '?')}, "
                    f"instance name {status.get('instanceName')!r}")
                if status.get("instanceName") and not values.get(f"{prefix}_INSTANCE_NAME"):
                    # the name its webhooks carry: lets the sidecar tell instances apart
                    values[f"{prefix}_INSTANCE_NAME"] = status["instanceName"]
            except CheckFailed as exc:
                problems.append((prefix, str(exc)))
        if not problems or args.non_interactive or attempt == MAX_ROUNDS:
            break
        for _, message in problems:
            say(f"problem: {message}")
        if ask("Change the values and check again? [Y/n] ").strip().lower() in ("n", "no"):
            break
        for name, question, secret in ASKED:
            if any(name.startswith(prefix) for prefix, _ in problems):
                prompt(name, question, secret)
    if problems:
        for _, message in problems:
            say(f"problem: {message}")
        say("nothing written: fix the above and run again")
        return 1

    try:
        settings = load_settings(values)
    except ConfigError as exc:
        say(f"problem: {exc}\nnothing written")
        return 1
    write_env_file(env_file, values, existing)
    say(f"wrote {env_file} (mode 0600)")

    if not args.no_push:
        from sidecar.design import push_all

        try:
            for r in push_all(settings):
                say(f"design docs: {r.outcome:9} {r.db}/_design/{r.ddoc}" + (" (database created)" if r.db_created else ""))
        except Exception as exc:  # couchdb-python raises several kinds; each means "not pushed"
            say(f"problem: pushing the design docs failed: {type(exc).__name__}: {exc}")
            return 1

    say("\nnext: in Radarr and Sonarr, Settings > Connect > + > Webhook:")
    say("  URL http://<this host>:8000/webhooks/radarr (…/sonarr), method POST,")
    say(f"  username {values['WEBHOOK_USER']!r}, password: WEBHOOK_PASSWORD from {env_file.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
