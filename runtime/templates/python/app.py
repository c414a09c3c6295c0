"""__NAME__: users of an app with a SCIM 2.0 API, as an ILM plugin in Python.

The host calls the classes below (their WIT is in wit/plugin.wit: kebab-case names become
snake_case). Errors are raised as Err(AppError(code, message)). Requests go through the
host's `send`, which allows only the instance's `url` and adds the bearer token: the plugin
never sees it.
"""

import json
from urllib.parse import quote

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import http, instance, types

NAME = "__NAME__"
VERSION = "0.1.0"  # keep __NAME__.toml's `version` equal to it
LIST_COMMAND = NAME + "-list-users"
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def fail(code, message):
    return Err(types.AppError(code=code, message=message))


def base_url():
    url = json.loads(instance.params()).get("url")
    if not url:
        raise fail("config", "the instance has no url parameter: set it")
    return url.rstrip("/")


def request(method, path, body=None):
    """Sends one request; returns the parsed JSON body, or None for a 404."""
    headers = [("Accept", "application/scim+json")]
    data = None
    if body is not None:
        headers.append(("Content-Type", "application/scim+json"))
        data = json.dumps(body).encode()
    response = http.send(http.Request(method=method, url=base_url() + path, headers=headers, body=data))
    text = bytes(response.body).decode("utf-8", "replace")
    if response.status == 404:
        return None
    if response.status >= 400:
        try:
            detail = json.loads(text).get("detail") or text
        except ValueError:
            detail = text
        raise fail(str(response.status), f"{method} {path}: {detail}")
    try:
        return json.loads(text)
    except ValueError:
        raise fail("502", f"{method} {path}: the app answered something that is not JSON")


def app_user(user):
    if not isinstance(user, dict) or not user.get("id"):
        raise fail("502", "the app returned a user without an id")
    emails = user.get("emails") if isinstance(user.get("emails"), list) else []
    email = next((e for e in emails if e.get("primary")), emails[0] if emails else {})
    return types.AppUser(
        id=str(user["id"]),
        username=user.get("userName") or "",
        email=email.get("value") or "",
        active=user.get("active") is not False,
        details=json.dumps(user),
    )


def patch(id, changes):
    body = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": changes}]}
    user = request("PATCH", "/Users/" + quote(id, safe=""), body)
    if user is None:
        raise fail("404", f"the app has no user with id {id}")
    return app_user(user)


class Iam(exports.Iam):
    def describe(self):
        return types.PluginInfo(name=NAME, version=VERSION, commands=[LIST_COMMAND])

    def identify_attributes(self):
        return ["id", "userName", "emails"]

    def find_user(self, by):
        if by.attribute == "id":
            user = request("GET", "/Users/" + quote(by.value, safe=""))
            return None if user is None else app_user(user)
        value = by.value.replace("\\", "\\\\").replace('"', '\\"')
        listed = request("GET", "/Users?filter=" + quote(f'{by.attribute} eq "{value}"', safe=""))
        found = (listed or {}).get("Resources") or []
        return app_user(found[0]) if found else None

    def create_user(self, profile):
        user = json.loads(profile)
        user.pop("id", None)
        return app_user(request("POST", "/Users", {"schemas": [CORE], **user}))

    def update_user(self, id, profile):
        changes = json.loads(profile)
        changes.pop("id", None)
        changes.pop("schemas", None)
        return patch(id, changes)

    def enable_user(self, id):
        return patch(id, {"active": True})

    def disable_user(self, id):
        return patch(id, {"active": False})

    def get_mapping_fields(self):
        return [
            types.Field(name="userName", description="Login name"),
            types.Field(name="name", description="givenName and familyName"),
            types.Field(name="emails", description="Email addresses"),
            types.Field(name="title", description="Job title"),
            types.Field(name="externalId", description="Identifier in the HR system"),
        ]

    def test_connection(self):
        request("GET", "/Users?count=1")


class Commands(exports.Commands):
    def run(self, name, args):
        if name != LIST_COMMAND:
            raise fail("unknown-command", f"{NAME} has no command {name}")
        count = int(json.loads(args or "{}").get("count") or 100)
        listed = request("GET", f"/Users?count={count}")
        return json.dumps((listed or {}).get("Resources") or [])


class Fetch(exports.Fetch):
    def fetch(self, state):
        raise fail("unsupported", f"{NAME} is not a source: it does not fetch")
