"""Drives Debian's python3-hvac (0.11.2) against the Vault API double and prints one JSON object.

The fabric's Vault client is checked against the double; this script checks the double against a
real third-party client, so the two together show the client speaks Vault's documented API.
Inputs come from the environment (never the command line, where a secret would show in `ps`):
VAULT_ADDR, VAULT_CACERT, ROLE_ID, SECRET_ID, KV_MOUNT, KV_PATH, DYNAMIC_PATH, VAULT_NAMESPACE.
Exit code 3: hvac is not importable.
"""
import json
import os
import sys

try:
    import hvac
    import hvac.exceptions
except ImportError as error:  # pragma: no cover - reported by the test
    print(json.dumps({"error": "hvac is not importable: %s" % error}))
    sys.exit(3)


def failure(call):
    """The hvac exception class a call raises, and the Vault errors it carries."""
    try:
        call()
    except hvac.exceptions.VaultError as error:
        return {"exception": type(error).__name__, "errors": error.errors}
    return {"exception": None, "errors": None}


def main():
    env = os.environ
    url, ca = env["VAULT_ADDR"], env["VAULT_CACERT"]
    namespace = env.get("VAULT_NAMESPACE") or None
    mount, path, dynamic_path = env["KV_MOUNT"], env["KV_PATH"], env["DYNAMIC_PATH"]
    result = {"hvac_version": getattr(hvac, "__version__", "unknown")}

    client = hvac.Client(url=url, verify=ca, namespace=namespace)
    login = client.auth.approle.login(role_id=env["ROLE_ID"], secret_id=env["SECRET_ID"])
    auth = login["auth"]
    result["login"] = {
        "has_client_token": bool(auth["client_token"]),
        "client_token_in_use": client.token == auth["client_token"],
        "lease_duration": auth["lease_duration"],
        "renewable": auth["renewable"],
        "policies": auth["policies"],
        "has_accessor": bool(auth["accessor"]),
        "is_authenticated": client.is_authenticated(),
    }

    lookup = client.auth.token.lookup_self()["data"]
    renew_self = client.auth.token.renew_self()["auth"]
    result["token"] = {"ttl": lookup["ttl"], "renewable": lookup["renewable"], "renewed_lease_duration": renew_self["lease_duration"]}

    latest = client.secrets.kv.v2.read_secret_version(path=path, mount_point=mount)
    first = client.secrets.kv.v2.read_secret_version(path=path, mount_point=mount, version=1)
    result["kv"] = {
        "keys": sorted(latest["data"]["data"].keys()),
        "version": latest["data"]["metadata"]["version"],
        "destroyed": latest["data"]["metadata"]["destroyed"],
        "deletion_time": latest["data"]["metadata"]["deletion_time"],
        "custom_metadata": latest["data"]["metadata"]["custom_metadata"],
        "first_version": first["data"]["metadata"]["version"],
        "lease_id": latest["lease_id"],
        "renewable": latest["renewable"],
        "lease_duration": latest["lease_duration"],
        "has_request_id": bool(latest["request_id"]),
    }

    creds = client.read(dynamic_path)
    lease_id = creds["lease_id"]
    renewed = client.sys.renew_lease(lease_id=lease_id, increment=600)
    revoked = client.sys.revoke_lease(lease_id=lease_id)
    result["dynamic"] = {
        "lease_id": lease_id,
        "lease_duration": creds["lease_duration"],
        "renewable": creds["renewable"],
        "keys": sorted(creds["data"].keys()),
        "renewed_lease_id": renewed["lease_id"],
        "renewed_lease_duration": renewed["lease_duration"],
        "revoke_status": revoked.status_code,
    }

    stranger = hvac.Client(url=url, verify=ca, token="hvs.not-a-token-vault-knows", namespace=namespace)
    result["errors"] = {
        "renew_after_revoke": failure(lambda: client.sys.renew_lease(lease_id=lease_id)),
        "bad_token": failure(lambda: stranger.secrets.kv.v2.read_secret_version(path=path, mount_point=mount)),
        "missing_path": failure(lambda: client.secrets.kv.v2.read_secret_version(path=path + "-missing", mount_point=mount)),
        "deleted_version": failure(lambda: client.secrets.kv.v2.read_secret_version(path=path, mount_point=mount, version=int(env["DELETED_VERSION"]))),
        "bad_login": failure(lambda: hvac.Client(url=url, verify=ca, namespace=namespace).auth.approle.login(role_id=env["ROLE_ID"], secret_id="wrong")),
    }
    result["stranger_is_authenticated"] = stranger.is_authenticated()

    health = client.sys.read_health_status(method="GET")
    result["health"] = {"initialized": health["initialized"], "sealed": health["sealed"], "standby": health["standby"]}

    print(json.dumps(result))


if __name__ == "__main__":
    main()
