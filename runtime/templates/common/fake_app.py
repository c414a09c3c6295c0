#!/usr/bin/env python3
"""A small fake of the app for ./test: a SCIM 2.0 user store in memory (Python's standard
library only). It takes the one bearer token given on the command line, and answers:

  GET    /Users?filter=<attr> eq "<value>"&count=N   userName, emails or externalId
  GET    /Users/<id>
  POST   /Users                                      409 when the userName is taken
  PATCH  /Users/<id>                                 PatchOp "replace"/"add" with a value or a path
  GET    /_fake/users                                every user, for the test to check

Usage: fake_app.py TOKEN [PORT]; it prints the port it listens on (PORT 0: any free one),
then serves until killed.
"""

import json
import re
import sys
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
FILTER = re.compile(r'^\s*(\w+)\s+eq\s+"((?:[^"\\]|\\.)*)"\s*$')

users = {}


def matches(user, attribute, value):
    if attribute == "emails":
        return any(e.get("value", "").lower() == value.lower() for e in user.get("emails") or [])
    if attribute == "userName":
        return str(user.get("userName", "")).lower() == value.lower()
    return str(user.get(attribute, "")) == value


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/scim+json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def error(self, status, detail):
        self.reply(status, {"schemas": [ERROR], "status": str(status), "detail": detail})

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        try:
            return json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            return None

    def authorized(self):
        if self.headers.get("Authorization") == "Bearer " + TOKEN:
            return True
        self.error(401, "missing or wrong bearer token")
        return False

    def user_id(self):
        parts = urlsplit(self.path).path.strip("/").split("/")
        return parts[1] if len(parts) == 2 and parts[0] == "Users" else None

    def do_GET(self):
        url = urlsplit(self.path)
        if url.path == "/_fake/users":
            return self.reply(200, list(users.values()))
        if not self.authorized():
            return
        if url.path.rstrip("/") == "/Users":
            query = parse_qs(url.query)
            found = list(users.values())
            if "filter" in query:
                parsed = FILTER.match(query["filter"][0])
                if not parsed:
                    return self.error(400, "unsupported filter: " + query["filter"][0])
                attribute, value = parsed.group(1), parsed.group(2).replace('\\"', '"')
                found = [u for u in found if matches(u, attribute, value)]
            count = int(query.get("count", ["100"])[0])
            return self.reply(200, {"schemas": [LIST], "totalResults": len(found),
                                    "startIndex": 1, "itemsPerPage": min(count, len(found)),
                                    "Resources": found[:count]})
        user = users.get(self.user_id())
        if user is None:
            return self.error(404, "no such user")
        self.reply(200, user)

    def do_POST(self):
        if not self.authorized():
            return
        if urlsplit(self.path).path.rstrip("/") != "/Users":
            return self.error(404, "no such endpoint")
        body = self.body()
        if not isinstance(body, dict) or not body.get("userName"):
            return self.error(400, "a user needs a userName")
        if any(matches(u, "userName", body["userName"]) for u in users.values()):
            return self.error(409, "userName is already taken")
        user = dict(body, id=uuid.uuid4().hex, schemas=[CORE])
        user.setdefault("active", True)
        users[user["id"]] = user
        self.reply(201, user)

    def do_PATCH(self):
        if not self.authorized():
            return
        user = users.get(self.user_id())
        if user is None:
            return self.error(404, "no such user")
        body = self.body()
        operations = body.get("Operations") if isinstance(body, dict) else None
        if not isinstance(operations, list):
            return self.error(400, "a PATCH needs a PatchOp with Operations")
        for op in operations:
            if str(op.get("op", "")).lower() not in ("replace", "add"):
                return self.error(400, "unsupported op: " + str(op.get("op")))
            value = op.get("value")
            if op.get("path"):
                user[op["path"]] = value
            elif isinstance(value, dict):
                user.update({k: v for k, v in value.items() if k not in ("id", "schemas")})
            else:
                return self.error(400, "an op without a path needs an object value")
        self.reply(200, user)


if __name__ == "__main__":
    TOKEN = sys.argv[1]
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[2]) if len(sys.argv) > 2 else 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()
