"""Settings from the environment, and back."""
from __future__ import annotations

import pytest

from sidecar.config import ArrInstance, ConfigError, Settings, load_settings, to_env


def test_to_env_round_trips_through_load_settings():
    s = Settings(
        couchdb_url="http://couch:5984", couchdb_user="side", couchdb_password="pw-1234",
        movies_db="films", sidecar_role="svc", webhook_password="hook-pw", reconcile_token="tok-123",
        worker_id="w1", arr_timeout=3.5, arr_concurrency=4, claim_timeout=60.0, retry_base=2.0, retry_max=90.0,
        scan_interval=0.5, batch_size=50, max_body_bytes=2048, cors_origins=("http://a:1", "http://b:2"),
        public_couchdb_url="https://couch.example", log_level="DEBUG",
        radarr=(ArrInstance("radarr", "default", "http://r:7878", "rk", 4, "/m", "announced"),
                ArrInstance("radarr", "4k", "http://r4:7878", "rk4", 5, "/m4", instance_name="Radarr 4K")),
        sonarr=(ArrInstance("sonarr", "default", "http://s:8989", "sk", 2, "/tv", language_profile_id=3,
                            season_folder=False),),
    )
    assert load_settings(to_env(s)) == s


def test_no_instances_configured_is_allowed_and_round_trips():
    s = load_settings({})
    assert s.radarr == () and s.sonarr == ()
    assert load_settings(to_env(s)) == s


@pytest.mark.parametrize("env, message", [
    ({"ARR_TIMEOUT": "soon"}, "ARR_TIMEOUT must be a number"),
    ({"RADARR_URL": "http://r"}, "RADARR_API_KEY (or RADARR_API_KEY_FILE) is required"),
    ({"RADARR_INSTANCES": "default,4k", "RADARR_URL": "http://r", "RADARR_API_KEY": "k"}, "RADARR_4K_URL is not set"),
    ({"MOVIES_DB": "Movies"}, "is not a valid CouchDB name"),
    ({"COUCHDB_URL": "http://u:secret@host:port"}, "port that is not a number"),
])
def test_bad_settings_get_a_clear_error(env, message):
    with pytest.raises(ConfigError) as err:
        load_settings(env)
    assert message in str(err.value) and "secret" not in str(err.value)
