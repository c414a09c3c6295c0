#!/usr/bin/env python3
"""A TEST DOUBLE of Slack's SCIM 1.1 API (/scim/v1/Users), for the runtime's tests. It is not Slack.

No emulator of Slack exists, so the tests run this stateful stand-in on loopback. It is
shaped on Slack's documented SCIM API (https://api.slack.com/scim, "Our SCIM implementation
targets version 1.1 of the protocol"; the SCIM 1.1 reference at
https://docs.slack.dev/reference/scim-api/scim-api-1.1) and on what Slack's IAM integration
of the Cortex XSOAR pack sends (filter values unquoted, `filter=userName eq jdoe`). Nothing
is copied from them: the values here are made up.

What it models, for one token:
  * `Authorization: Bearer <token>` on every request, else 401;
  * GET /scim/v1/Users with `startIndex` (1-based), `count` (default 10, capped at
    --max-count like Slack caps it at 1000: a larger count is read as the cap) and `filter`
    `<attribute> eq <value>`, the operator in any case (Slack's docs write `Eq`), the value
    bare or double-quoted, on userName, emails (any address) and externalId, compared
    case-insensitively; any other filter is refused with 400;
  * GET /scim/v1/Users/<id>, 404 when there is none;
  * POST /scim/v1/Users: the body must name the SCIM 1.1 core schema
    `urn:scim:schemas:core:1.0` (a SCIM 2.0 body is refused, as is a schema URN Slack does not
    know, such as the SCIM 2.0 enterprise extension), have a userName and at least one
    email given as `{"value": ...}`; a taken userName or email is 409; users start active;
  * PATCH /scim/v1/Users/<id>: a partial SCIM 1.1 user whose attributes replace the stored
    ones (a SCIM 2.0 PatchOp with `Operations` is refused); `active` must be a boolean;
  * PUT /scim/v1/Users/<id>: replaces the user (same checks as POST);
  * DELETE /scim/v1/Users/<id>: deactivates the user (Slack's documented meaning), 204.
Errors carry Slack's SCIM error shape: `{"Errors": {"description": "...", "code": N}}`. The
descriptions are this double's own words in Slack's style, not Slack's exact texts.
What it does not model: groups, Enterprise Grid, guests, rate limits, multi-valued PATCH
operations (`operation: "delete"`), SCIM 1.1 `meta.attributes`, the renaming of userNames
that Slack applies to email-shaped names.

Control endpoints (same token): GET /_double/users lists every stored user without paging;
GET /_double/requests lists the request lines received, query decoded, for a test to see
what a client sent.

Usage: slack_scim_double.py PORT TOKEN [--max-count N]
"""

import argparse
import copy
import itertools
import json
import re
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CORE = "urn:scim:schemas:core:1.0"
ENTERPRISE = "urn:scim:schemas:extension:enterprise:1.0"
KNOWN_SCHEMAS = {CORE, ENTERPRISE}
FILTERABLE = {"username": "userName", "emails": "emails", "externalid": "externalId"}
READ_ONLY = {"id", "meta", "schemas"}
USERS = "/scim/v1/Users"


class SlackError(Exception):
    def __init__(self, code, description):
        super().__init__(description)
        self.code = code
        self.description = description


class Directory:
    """The users of one workspace, behind one lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.users = {}
        self.ids = itertools.count(1)
        self.requests = []

    def find(self, user_id):
        user = self.users.get(user_id)
        if user is None:
            raise SlackError(404, f"no user with id {user_id}")
        return user

    def check_unique(self, user, own_id=None):
        for other in self.users.values():
            if other["id"] == own_id:
                continue
            if other["userName"].lower() == user["userName"].lower():
                raise SlackError(409, f"username_taken: {user['userName']}")
            taken = {e["value"].lower() for e in other.get("emails", [])}
            for email in user.get("emails", []):
                if email["value"].lower() in taken:
                    raise SlackError(409, f"email_taken: {email['value']}")


def check_user(body, partial):
    """Refuses what Slack's SCIM 1.1 API refuses in a user body."""
    if not isinstance(body, dict):
        raise SlackError(400, "the body must be a JSON object")
    if "Operations" in body:
        raise SlackError(400, "PatchOp (SCIM 2.0) is not supported: send a partial SCIM 1.1 user")
    schemas = body.get("schemas")
    if not isinstance(schemas, list) or CORE not in schemas:
        raise SlackError(400, f"schemas must list {CORE}")
    unknown = [s for s in schemas if s not in KNOWN_SCHEMAS]
    unknown += [k for k in body if k.startswith("urn:") and k not in KNOWN_SCHEMAS]
    if unknown:
        raise SlackError(400, f"unknown schema {unknown[0]}")
    if "userName" in body or not partial:
        name = body.get("userName")
        if not isinstance(name, str) or not name.strip():
            raise SlackError(400, "userName is required")
    if "emails" in body or not partial:
        emails = body.get("emails")
        if not isinstance(emails, list) or not emails:
            raise SlackError(400, "at least one email is required")
        for email in emails:
            if not isinstance(email, dict) or not isinstance(email.get("value"), str):
                raise SlackError(400, "emails must be a list of {value, type, primary}")
    if "active" in body and not isinstance(body["active"], bool):
        raise SlackError(400, "active must be true or false")


def parse_filter(text):
    """(attribute, value) of `<attribute> eq <value>`, value bare or double-quoted."""
    match = re.fullmatch(r'\s*(\S+)\s+eq\s+(?:"((?:[^"\\]|\\.)*)"|([^\s"]+))\s*', text, re.IGNORECASE)
    if not match:
        raise SlackError(400, f"invalid filter: {text}")
    attribute = FILTERABLE.get(match.group(1).lower())
    if attribute is None:
        raise SlackError(400, f"filtering on {match.group(1)} is not supported")
    value = match.group(3)
    if value is None:
        value = re.sub(r"\\(.)", r"\1", match.group(2))
    return attribute, value


def matches(user, attribute, value):
    if attribute == "emails":
        return any(e["value"].lower() == value.lower() for e in user.get("emails", []))
    return str(user.get(attribute, "")).lower() == value.lower()


def number(query, name, default):
    text = query.get(name, [str(default)])[0]
    try:
        return int(text)
    except ValueError:
        raise SlackError(400, f"{name} must be a number") from None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    directory = None
    token = None
    max_count = 1000

    def log_message(self, *args):
        pass

    def answer(self, status, body=None):
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw or b"null")
        except ValueError:
            raise SlackError(400, "the body is not valid JSON") from None

    def handle_any(self, method):
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        try:
            body = self.read_body() if method in ("POST", "PUT", "PATCH") else None
            if self.headers.get("Authorization") != f"Bearer {self.token}":
                raise SlackError(401, "invalid_authentication")
            with self.directory.lock:
                if not url.path.startswith("/_double/"):
                    self.directory.requests.append(f"{method} {urllib.parse.unquote(self.path)}")
                status, answer = self.route(method, url.path, query, body)
        except SlackError as e:
            status, answer = e.code, {"Errors": {"description": e.description, "code": e.code}}
        self.answer(status, answer)

    def route(self, method, path, query, body):
        d = self.directory
        if path == "/_double/users" and method == "GET":
            return 200, list(d.users.values())
        if path == "/_double/requests" and method == "GET":
            return 200, d.requests
        if path == USERS and method == "GET":
            return 200, self.list_users(query)
        if path == USERS and method == "POST":
            check_user(body, partial=False)
            user = {k: v for k, v in body.items() if k not in READ_ONLY}
            d.check_unique(user)
            user_id = f"U{next(d.ids):08d}"
            user.setdefault("active", True)
            user.update(id=user_id, schemas=body["schemas"], meta={"location": f"{USERS}/{user_id}"})
            d.users[user_id] = user
            return 201, user
        if not path.startswith(USERS + "/"):
            raise SlackError(404, f"no such endpoint: {path}")
        user_id = urllib.parse.unquote(path[len(USERS) + 1 :])
        user = d.find(user_id)
        if method == "GET":
            return 200, user
        if method == "DELETE":
            user["active"] = False
            return 204, None
        if method in ("PATCH", "PUT"):
            check_user(body, partial=method == "PATCH")
            changed = copy.deepcopy(user) if method == "PATCH" else {"active": True}
            changed.update({k: v for k, v in body.items() if k not in READ_ONLY})
            changed.update(id=user_id, meta=user["meta"], schemas=body["schemas"])
            d.check_unique(changed, own_id=user_id)
            d.users[user_id] = changed
            return 200, changed
        raise SlackError(405, f"{method} is not supported on {path}")

    def list_users(self, query):
        users = list(self.directory.users.values())
        if "filter" in query:
            attribute, value = parse_filter(query["filter"][0])
            users = [u for u in users if matches(u, attribute, value)]
        start = max(number(query, "startIndex", 1), 1)
        count = min(max(number(query, "count", 10), 0), self.max_count)
        page = users[start - 1 : start - 1 + count]
        return {
            "schemas": [CORE],
            "totalResults": len(users),
            "itemsPerPage": len(page),
            "startIndex": start,
            "Resources": page,
        }

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_PUT(self):
        self.handle_any("PUT")

    def do_PATCH(self):
        self.handle_any("PATCH")

    def do_DELETE(self):
        self.handle_any("DELETE")


def main():
    parser = argparse.ArgumentParser(description="A test double of Slack's SCIM 1.1 API.")
    parser.add_argument("port", type=int)
    parser.add_argument("token")
    parser.add_argument("--max-count", type=int, default=1000, help="the page size cap (Slack's: 1000)")
    args = parser.parse_args()
    Handler.directory = Directory()
    Handler.token = args.token
    Handler.max_count = args.max_count
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.serve_forever()


if __name__ == "__main__":
    main()
