#!/usr/bin/env python3
"""A TEST DOUBLE of Okta's management API (/api/v1), for the runtime's tests. It is not Okta.

No emulator of Okta exists, so the tests run this stateful stand-in on loopback, behind
Stoplight Prism (started by this script with --prism-dir), which checks every request
against Okta's published OpenAPI description (npm @okta/openapi 2.15.0) and answers 422,
401 or 404 before the request reaches the double when Okta would reject it.

The shapes of its answers (user, app, app-user, group and System Log objects, Link paging,
rate-limit headers and the error body: errorCode, errorSummary, errorLink, errorId,
errorCauses[{errorSummary}]) follow the recorded exchanges ("cassettes") of the PyPI `okta`
3.4.6 source distribution (Apache-2.0, tests/integration/cassettes) and Okta's documented
behaviour. Nothing is copied from them: the values here are made up.

What it models, per org (one org per API token; `POST /_double/orgs` makes a new one):
  * users: create (STAGED, or ACTIVE with activate=true), get by id, login or `me`, list
    with filter / search / q, partial profile update (merge), activate, deactivate; the
    duplicate-login, missing-field, unknown-attribute and wrong-status errors of Okta;
  * the default user schema with base and custom properties;
  * apps (ACTIVE / INACTIVE), groups, group members, assignments of users and groups to
    apps, `apps?filter=user.id eq "..."`, `apps/{appId}/users/{userId}` (scope USER or GROUP);
  * the System Log: events for what the API and the control endpoints do, the SCIM filter
    subset of Okta (eq, ne, co, sw, ew, gt, ge, lt, le, pr with and / or / not and
    parentheses), since / until / after / limit / sortOrder / q, and Okta's paging: a
    polling query (no `until`) always carries a `next` link, a bounded one only while
    events remain;
  * injected failures (429 with E0000047 and X-Rate-Limit-* headers, 5xx with E0000009).
What it does not model: passwords, factors, sessions, OAuth, app provisioning to
third parties, asynchronous lifecycle operations (every transition is immediate),
PROVISIONED-until-the-user-sets-a-password (activation always ends ACTIVE), removing app
assignments on deactivation, rate limits other than the injected ones, and the System
Log's eventual consistency (an event is visible as soon as it happens).
Where real Okta sends null the double sends null too. Okta's published spec types those
attributes as strings (and `_links.logo`, debugData values and app-user profile values
differently from what Okta sends), so Prism validates requests only: see PRISM_LAUNCHER.

Usage: okta_double.py PORT TOKEN [--public-url URL] [--prism-dir DIR --prism-port PORT
       [--prism-log FILE]] [--exit-on-stdin-eof]
Prints "READY <url>" on stdout once it (and Prism, if asked for) accepts connections.
Control endpoints live under /_double/ on PORT (never through Prism); they take the
org's token in `Authorization: SSWS <token>` like the API.
"""

import argparse
import ctypes
import datetime as dt
import json
import os
import random
import re
import signal
import socket
import string
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid as uuidlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.RLock()
ORGS = {}  # token -> Org
PUBLIC_URL = ""

BASE62 = string.digits + string.ascii_letters


def okta_id(prefix):
    return prefix + "".join(random.choice(BASE62) for _ in range(17))


def error_id():
    return "oae" + "".join(random.choice(BASE62 + "-_") for _ in range(22))


def iso_ms(ms):
    t = dt.datetime.fromtimestamp(ms / 1000, tz=dt.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ms % 1000)


def now_ms():
    return int(time.time() * 1000)


def parse_time(text):
    """ISO 8601 date-time → epoch ms, or None."""
    if not isinstance(text, str) or not re.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", text):
        return None
    try:
        t = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.timezone.utc)
    return int(t.timestamp() * 1000)


class ApiError(Exception):
    """An Okta error answer."""

    def __init__(self, status, code, summary, causes=(), headers=None):
        super().__init__(summary)
        self.status, self.code, self.summary = status, code, summary
        self.causes, self.headers = list(causes), headers or {}

    def body(self):
        return {
            "errorCode": self.code,
            "errorSummary": self.summary,
            "errorLink": self.code,
            "errorId": error_id(),
            "errorCauses": [{"errorSummary": c} for c in self.causes],
        }


def not_found(resource_id, kind):
    return ApiError(404, "E0000007", "Not found: Resource not found: %s (%s)" % (resource_id, kind))


def validation_failed(field, *causes):
    return ApiError(400, "E0000001", "Api validation failed: " + field, causes)


def invalid_search():
    return ApiError(400, "E0000031", "Invalid search criteria.")


def rate_limited():
    return ApiError(
        429,
        "E0000047",
        "API call exceeded rate limit due to too many requests.",
        headers={
            "X-Rate-Limit-Limit": "600",
            "X-Rate-Limit-Remaining": "0",
            "X-Rate-Limit-Reset": str(int(time.time()) + 1),
        },
    )


def injected(status):
    if status == 429:
        return rate_limited()
    if status >= 500:
        return ApiError(status, "E0000009", "Internal Server Error")
    return {
        401: ApiError(401, "E0000011", "Invalid token provided"),
        403: ApiError(403, "E0000006", "You do not have permission to perform the requested action"),
        404: ApiError(404, "E0000007", "Not found: Resource not found"),
    }.get(status, ApiError(status, "E0000001", "Api validation failed"))


# --- SCIM filter expressions (Okta's subset) -----------------------------------------

class FilterError(Exception):
    pass


TOKEN_RE = re.compile(
    r'\s*(?:(?P<lp>\()|(?P<rp>\))|(?P<str>"(?:[^"\\]|\\.)*")|(?P<num>-?\d+(?:\.\d+)?)'
    r'|(?P<word>[A-Za-z_$][\w.$:-]*))'
)
OPERATORS = {"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"}


def tokenize(text):
    tokens, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = TOKEN_RE.match(text, pos)
        if not m or m.end() == pos:
            raise FilterError("unexpected character at %d" % pos)
        pos = m.end()
        kind = m.lastgroup
        value = m.group(kind)
        if kind == "str":
            try:
                value = json.loads(value)
            except ValueError as e:
                raise FilterError("bad string") from e
        elif kind == "num":
            value = float(value) if "." in value else int(value)
        tokens.append((kind, value))
    return tokens


class Parser:
    """expr := term ('or' term)*; term := factor ('and' factor)*;
    factor := 'not'? '(' expr ')' | ATTR 'pr' | ATTR OP VALUE"""

    def __init__(self, text):
        self.tokens = tokenize(text)
        self.i = 0

    def peek(self):
        return self.tokens[self.i] if self.i < len(self.tokens) else (None, None)

    def next(self):
        tok = self.peek()
        self.i += 1
        return tok

    def keyword(self, word):
        kind, value = self.peek()
        if kind == "word" and value.lower() == word:
            self.i += 1
            return True
        return False

    def parse(self):
        if not self.tokens:
            raise FilterError("empty filter")
        node = self.expr()
        if self.i != len(self.tokens):
            raise FilterError("unexpected %r" % (self.peek()[1],))
        return node

    def expr(self):
        node = self.term()
        while self.keyword("or"):
            node = ("or", node, self.term())
        return node

    def term(self):
        node = self.factor()
        while self.keyword("and"):
            node = ("and", node, self.factor())
        return node

    def factor(self):
        if self.keyword("not"):
            kind, _ = self.next()
            if kind != "lp":
                raise FilterError("'not' needs parentheses")
            node = self.expr()
            if self.next()[0] != "rp":
                raise FilterError("missing )")
            return ("not", node)
        kind, value = self.next()
        if kind == "lp":
            node = self.expr()
            if self.next()[0] != "rp":
                raise FilterError("missing )")
            return node
        if kind != "word" or value.lower() in ("and", "or", "not"):
            raise FilterError("expected an attribute, got %r" % (value,))
        attr = value
        kind, op = self.next()
        if kind != "word":
            raise FilterError("expected an operator after %s" % attr)
        op = op.lower()
        if op == "pr":
            return ("pr", attr)
        if op not in OPERATORS:
            raise FilterError("unknown operator %s" % op)
        kind, operand = self.next()
        if kind == "word" and operand.lower() in ("true", "false", "null"):
            operand = {"true": True, "false": False, "null": None}[operand.lower()]
        elif kind not in ("str", "num"):
            raise FilterError("expected a value after %s %s" % (attr, op))
        return ("cmp", attr, op, operand)


def parse_filter(text):
    try:
        return Parser(text).parse()
    except FilterError:
        raise invalid_search()


def comparisons(node):
    """Every (attr, op) the filter uses."""
    if node[0] in ("and", "or"):
        return comparisons(node[1]) + comparisons(node[2])
    if node[0] == "not":
        return comparisons(node[1])
    if node[0] == "pr":
        return [(node[1], "pr")]
    return [(node[1], node[2])]


def path_values(obj, path):
    values = [obj]
    for part in path.split("."):
        nxt = []
        for v in values:
            if isinstance(v, list):
                v_items = v
            else:
                v_items = [v]
            for item in v_items:
                if isinstance(item, dict) and part in item:
                    val = item[part]
                    nxt.extend(val if isinstance(val, list) else [val])
        values = nxt
    return values


def compare(value, op, operand):
    if isinstance(value, str) and isinstance(operand, str):
        a, b = value.lower(), operand.lower()
    else:
        a, b = value, operand
    try:
        if op == "eq":
            return a == b
        if op == "ne":
            return a != b
        if op == "co":
            return isinstance(a, str) and isinstance(b, str) and b in a
        if op == "sw":
            return isinstance(a, str) and isinstance(b, str) and a.startswith(b)
        if op == "ew":
            return isinstance(a, str) and isinstance(b, str) and a.endswith(b)
        if a is None or b is None:
            return False
        return {"gt": a > b, "ge": a >= b, "lt": a < b, "le": a <= b}[op]
    except TypeError:
        return False


def evaluate(node, obj, resolve=path_values):
    kind = node[0]
    if kind == "and":
        return evaluate(node[1], obj, resolve) and evaluate(node[2], obj, resolve)
    if kind == "or":
        return evaluate(node[1], obj, resolve) or evaluate(node[2], obj, resolve)
    if kind == "not":
        return not evaluate(node[1], obj, resolve)
    if kind == "pr":
        return any(v not in (None, "", [], {}) for v in resolve(obj, node[1]))
    _, attr, op, operand = node
    values = resolve(obj, attr)
    if op == "ne":
        return all(compare(v, "ne", operand) for v in values)
    return any(compare(v, op, operand) for v in values)


# --- the org --------------------------------------------------------------------------

BASE_ATTRIBUTES = [
    ("login", "Username"), ("firstName", "First name"), ("lastName", "Last name"),
    ("middleName", "Middle name"), ("honorificPrefix", "Honorific prefix"),
    ("honorificSuffix", "Honorific suffix"), ("email", "Primary email"), ("title", "Title"),
    ("displayName", "Display name"), ("nickName", "Nickname"), ("profileUrl", "Profile Url"),
    ("secondEmail", "Secondary email"), ("mobilePhone", "Mobile phone"),
    ("primaryPhone", "Primary phone"), ("streetAddress", "Street address"), ("city", "City"),
    ("state", "State"), ("zipCode", "Zip code"), ("countryCode", "Country code"),
    ("postalAddress", "Postal Address"), ("preferredLanguage", "Preferred language"),
    ("locale", "Locale"), ("timezone", "Time zone"), ("userType", "User type"),
    ("employeeNumber", "Employee number"), ("costCenter", "Cost center"),
    ("organization", "Organization"), ("division", "Division"), ("department", "Department"),
    ("managerId", "ManagerId"), ("manager", "Manager"),
]
CUSTOM_ATTRIBUTES = [("hireDate", "Hire Date"), ("terminationDate", "Termination Date")]
REQUIRED = ["login", "email", "firstName", "lastName"]
KNOWN = {name for name, _ in BASE_ATTRIBUTES + CUSTOM_ATTRIBUTES}
USER_STATUSES = {"STAGED", "PROVISIONED", "ACTIVE", "RECOVERY", "PASSWORD_EXPIRED",
                 "LOCKED_OUT", "SUSPENDED", "DEPROVISIONED"}
TYPE_ID = "oty1doubletypeid0x6"
SCHEMA_ID = "osc1doubleschemaid0x6"


class Org:
    def __init__(self, token):
        self.token = token
        self.users = {}  # id -> user (insertion order = creation order)
        self.apps = {}
        self.groups = {}
        self.members = {}  # group id -> [user ids]
        self.app_groups = {}  # app id -> [group ids]
        self.direct = {}  # (app id, user id) -> app-user record
        self.via_group = {}  # (app id, user id) -> app-user record (first group assignment)
        self.events = []
        self.requests = []
        self.failures = []
        self.last_ms = 0
        self.seq = 0
        self.self_id = self._builtin("ilm.service@example.com", "ILM", "Service Account")
        self.admin_id = self._builtin("okta.admin@example.com", "Olivia", "Admin")

    def _builtin(self, login, first, last):
        user = self.new_user({"login": login, "email": login, "firstName": first,
                              "lastName": last}, "ACTIVE")
        user["builtin"] = True
        return user["id"]

    # clock: real time, strictly increasing per org
    def tick(self):
        ms = max(now_ms(), self.last_ms + 1)
        self.last_ms = ms
        return ms

    def link(self, path):
        return PUBLIC_URL + path

    # users
    def new_user(self, profile, status):
        ms = self.tick()
        stamp = iso_ms(ms)
        uid = okta_id("00u")
        full = {"firstName": None, "lastName": None, "mobilePhone": None, "secondEmail": None,
                "login": None, "email": None}
        full.update(profile)
        user = {
            "id": uid,
            "status": status,
            "created": stamp,
            "activated": stamp if status not in ("STAGED",) else None,
            "statusChanged": stamp if status != "STAGED" else None,
            "lastLogin": None,
            "lastUpdated": stamp,
            "passwordChanged": None,
            "type": {"id": TYPE_ID},
            "profile": full,
        }
        self.users[uid] = user
        return user

    def find_user(self, key):
        if key == "me":
            return self.users[self.self_id]
        if key in self.users:
            return self.users[key]
        for user in self.users.values():
            login = user["profile"].get("login") or ""
            if login.lower() == key.lower():
                return user
            # Okta also accepts the login's short name when it is unambiguous
        shorts = [u for u in self.users.values()
                  if (u["profile"].get("login") or "").split("@")[0].lower() == key.lower()]
        if len(shorts) == 1:
            return shorts[0]
        return None

    def user_or_404(self, key):
        user = self.find_user(key)
        if user is None:
            raise not_found(key, "User")
        return user

    def render_user(self, user):
        out = {k: v for k, v in user.items() if k != "builtin"}
        out["profile"] = dict(user["profile"])
        out["credentials"] = {
            "emails": [{"value": user["profile"].get("email"), "status": "VERIFIED",
                        "type": "PRIMARY"}],
            "provider": {"type": "OKTA", "name": "OKTA"},
        }
        links = {
            "schema": {"href": self.link("/api/v1/meta/schemas/user/" + SCHEMA_ID)},
            "self": {"href": self.link("/api/v1/users/" + user["id"])},
            "type": {"href": self.link("/api/v1/meta/types/user/" + TYPE_ID)},
        }
        base = "/api/v1/users/%s/lifecycle/" % user["id"]
        if user["status"] in ("STAGED", "DEPROVISIONED"):
            links["activate"] = {"href": self.link(base + "activate"), "method": "POST"}
        if user["status"] != "DEPROVISIONED":
            links["deactivate"] = {"href": self.link(base + "deactivate"), "method": "POST"}
        out["_links"] = links
        return out

    def display_name(self, user):
        p = user["profile"]
        name = " ".join(x for x in (p.get("firstName"), p.get("lastName")) if x)
        return name or p.get("login") or user["id"]

    def validate_profile(self, profile, creating, user=None):
        if not isinstance(profile, dict):
            raise validation_failed("profile", "profile: The profile must be an object")
        unknown = [k for k in profile if k not in KNOWN]
        if unknown:
            raise validation_failed(
                unknown[0], *["%s: Property name '%s' is not defined in profile" % (k, k)
                              for k in unknown])
        for key, value in profile.items():
            if value is not None and not isinstance(value, str):
                raise validation_failed(key, "%s: Does not match required type string" % key)
        merged = dict(user["profile"]) if user else {}
        merged.update(profile)
        blank = [k for k in REQUIRED if not merged.get(k)]
        if blank and (creating or any(k in profile for k in blank)):
            raise validation_failed(
                blank[0], *["%s: The field cannot be left blank" % k for k in blank])
        login = merged.get("login")
        if "login" in profile and login and "@" not in login:
            raise validation_failed("login", "login: Username must be in the form of an email address")
        for key in ("email", "secondEmail"):
            value = profile.get(key)
            if value and not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", value):
                raise validation_failed(key, "%s: Does not match required pattern" % key)
        if "login" in profile and login:
            for other in self.users.values():
                if other is not user and (other["profile"].get("login") or "").lower() == login.lower():
                    raise validation_failed(
                        "login", "login: An object with this field already exists in the current organization")

    # apps and groups
    def new_app(self, label):
        ms = self.tick()
        stamp = iso_ms(ms)
        aid = okta_id("0oa")
        name = re.sub(r"[^a-z0-9]+", "", label.lower()) or "app"
        self.apps[aid] = {
            "id": aid,
            "name": name,
            "label": label,
            "status": "ACTIVE",
            "created": stamp,
            "lastUpdated": stamp,
            "signOnMode": "BOOKMARK",
            "accessibility": {"selfService": False, "errorRedirectUrl": None, "loginRedirectUrl": None},
            "visibility": {"autoSubmitToolbar": False, "hide": {"iOS": False, "web": False},
                           "appLinks": {"login": True}},
            "features": [],
            "credentials": {"userNameTemplate": {"template": "${source.login}", "type": "BUILT_IN"},
                            "signing": {}},
            "settings": {"app": {"url": "https://apps.example.com/%s" % name}},
        }
        self.app_groups[aid] = []
        return self.apps[aid]

    def render_app(self, app):
        out = dict(app)
        aid = app["id"]
        out["_links"] = {
            "appLinks": [{"name": "login", "href": self.link("/home/bookmark/%s/2557" % aid),
                          "type": "text/html"}],
            "groups": {"href": self.link("/api/v1/apps/%s/groups" % aid)},
            "logo": [{"name": "medium",
                      "href": "https://static.example.com/logos/%s-medium.png" % app["name"],
                      "type": "image/png"}],
            "users": {"href": self.link("/api/v1/apps/%s/users" % aid)},
            ("deactivate" if app["status"] == "ACTIVE" else "activate"): {
                "href": self.link("/api/v1/apps/%s/lifecycle/%s" % (
                    aid, "deactivate" if app["status"] == "ACTIVE" else "activate"))},
        }
        return out

    def app_or_404(self, aid):
        if aid not in self.apps:
            raise not_found(aid, "AppInstance")
        return self.apps[aid]

    def new_group(self, name, description=None):
        ms = self.tick()
        stamp = iso_ms(ms)
        gid = okta_id("00g")
        self.groups[gid] = {
            "id": gid,
            "created": stamp,
            "lastUpdated": stamp,
            "lastMembershipUpdated": stamp,
            "objectClass": ["okta:user_group"],
            "type": "OKTA_GROUP",
            "profile": {"name": name, "description": description},
        }
        self.members[gid] = []
        return self.groups[gid]

    def render_group(self, group):
        out = dict(group)
        gid = group["id"]
        out["_links"] = {
            "logo": [{"name": "medium", "href": "https://static.example.com/logos/group-medium.png",
                      "type": "image/png"}],
            "users": {"href": self.link("/api/v1/groups/%s/users" % gid)},
            "apps": {"href": self.link("/api/v1/groups/%s/apps" % gid)},
        }
        return out

    def group_or_404(self, gid):
        if gid not in self.groups:
            raise not_found(gid, "UserGroup")
        return self.groups[gid]

    # assignments
    def assignment(self, aid, uid):
        return self.direct.get((aid, uid)) or self.via_group.get((aid, uid))

    def app_user_record(self, aid, uid, scope):
        stamp = iso_ms(self.tick())
        return {"id": uid, "externalId": None, "created": stamp, "lastUpdated": stamp,
                "scope": scope, "status": "ACTIVE", "statusChanged": stamp,
                "passwordChanged": None, "syncState": "DISABLED",
                "credentials": {"userName": self.users[uid]["profile"].get("login")},
                "profile": {}}

    def render_app_user(self, aid, uid):
        direct = self.direct.get((aid, uid))
        record = dict(direct or self.via_group[(aid, uid)])
        record["scope"] = "USER" if direct else "GROUP"
        record["_links"] = {"app": {"href": self.link("/api/v1/apps/" + aid)},
                            "user": {"href": self.link("/api/v1/users/" + uid)}}
        return record

    def groups_granting(self, aid, uid):
        return [g for g in self.app_groups.get(aid, []) if uid in self.members.get(g, [])]

    def user_apps(self, uid):
        return [a for a in self.apps if self.assignment(a, uid)]

    # the System Log
    def event(self, event_type, message, legacy, actor_id, targets, debug=None):
        ms = self.tick()
        actor = self.users[actor_id]
        request_id = "".join(random.choice(BASE62) for _ in range(24))
        data = {"requestId": request_id, "requestUri": "/api/v1/users", "url": "/api/v1/users?"}
        data.update(debug or {})
        geo = {"city": "Springfield", "country": "United States",
               "geolocation": {"lat": 39.8, "lon": -89.6}, "postalCode": "62701",
               "state": "Illinois"}
        event = {
            "actor": {"id": actor_id, "type": "User",
                      "alternateId": actor["profile"].get("login"),
                      "displayName": self.display_name(actor), "detailEntry": None},
            "client": {"userAgent": {"rawUserAgent": "ilm-test", "os": "Unknown",
                                     "browser": "UNKNOWN"},
                       "zone": "null", "device": "Unknown", "id": None,
                       "ipAddress": "192.0.2.10", "geographicalContext": geo},
            "device": None,
            "authenticationContext": {"authenticationProvider": None, "credentialProvider": None,
                                      "credentialType": None, "issuer": None,
                                      "interface": None, "authenticationStep": 0,
                                      "externalSessionId": "trs" + request_id[:19]},
            "displayMessage": message,
            "eventType": event_type,
            "outcome": {"result": "SUCCESS", "reason": None},
            "published": iso_ms(ms),
            "securityContext": {"asNumber": None, "asOrg": None, "isp": None, "domain": None,
                                "isProxy": None},
            "severity": "INFO",
            "debugContext": {"debugData": data},
            "legacyEventType": legacy,
            "transaction": {"type": "WEB", "id": request_id, "detail": {}},
            "uuid": str(uuidlib.uuid4()),
            "version": "0",
            "request": {"ipChain": [{"ip": "192.0.2.10", "geographicalContext": geo,
                                     "version": "V4", "source": None}]},
            "target": targets,
        }
        self.append_event(event, ms)
        return event

    def append_event(self, event, ms=None):
        if ms is None:
            ms = parse_time(event.get("published")) if isinstance(event, dict) else None
            if ms is None:
                ms = self.tick()
        uid = event.get("uuid") if isinstance(event, dict) else None
        self.seq += 1
        self.events.append({"ms": ms, "uuid": uid if isinstance(uid, str) else "", "seq": self.seq,
                            "event": event})

    def user_target(self, uid):
        user = self.users[uid]
        return {"id": uid, "type": "User", "alternateId": user["profile"].get("login"),
                "displayName": self.display_name(user), "detailEntry": None}

    def app_target(self, aid):
        app = self.apps[aid]
        return {"id": aid, "type": "AppInstance", "alternateId": app["label"],
                "displayName": app["label"], "detailEntry": None}

    def group_target(self, gid):
        name = self.groups[gid]["profile"]["name"]
        return {"id": gid, "type": "UserGroup", "alternateId": "unknown", "displayName": name,
                "detailEntry": None}

    def app_membership_event(self, add, aid, uid, actor):
        self.event(
            "application.user_membership.%s" % ("add" if add else "remove"),
            "%s user %s application membership" % (("Add", "to") if add else ("Remove", "from")),
            "app.generic.provision.%s" % ("assign_user_to_app" if add else "unassign_user_from_app"),
            actor, [self.user_target(uid), self.app_target(aid)],
            {"requestUri": "/api/v1/apps/%s/users" % aid, "url": "/api/v1/apps/%s/users?" % aid})

    def lifecycle_event(self, kind, uid):
        messages = {"create": ("Create Okta user", "core.user.config.user_creation.success"),
                    "activate": ("Activate Okta user", "core.user.config.user_activated"),
                    "deactivate": ("Deactivate Okta user", "core.user.config.user_deactivated")}
        message, legacy = messages[kind]
        path = "/api/v1/users/%s/lifecycle/%s" % (uid, kind) if kind != "create" else "/api/v1/users"
        self.event("user.lifecycle." + kind, message, legacy, self.self_id,
                   [self.user_target(uid)], {"requestUri": path, "url": path + "?"})

    def profile_event(self, uid, changed, actor):
        path = "/api/v1/users/" + uid
        self.event("user.account.update_profile", "Update user profile for Okta",
                   "core.user.config.profile_update.success", actor, [self.user_target(uid)],
                   {"requestUri": path, "url": path + "?",
                    "changedAttributes": ",".join(changed)})

    # membership changes (control plane: an admin person does them)
    def assign(self, aid, uid, actor):
        had = self.assignment(aid, uid)
        if (aid, uid) in self.direct:
            return
        self.direct[(aid, uid)] = self.app_user_record(aid, uid, "USER")
        if not had:
            self.app_membership_event(True, aid, uid, actor)

    def unassign(self, aid, uid, actor):
        if (aid, uid) not in self.direct:
            raise not_found(uid, "AppUser")
        del self.direct[(aid, uid)]
        if not self.assignment(aid, uid):
            self.app_membership_event(False, aid, uid, actor)

    def add_member(self, gid, uid, actor):
        if uid in self.members[gid]:
            return
        self.members[gid].append(uid)
        self.groups[gid]["lastMembershipUpdated"] = iso_ms(self.tick())
        self.event("group.user_membership.add", "Add user to group membership",
                   "core.user_group_member.user_add", actor,
                   [self.user_target(uid), self.group_target(gid)],
                   {"requestUri": "/api/v1/groups/%s/users/%s" % (gid, uid),
                    "url": "/api/v1/groups/%s/users/%s?" % (gid, uid)})
        for aid in self.apps:
            if gid in self.app_groups[aid]:
                self.grant_via_group(aid, uid, actor)

    def grant_via_group(self, aid, uid, actor):
        if self.assignment(aid, uid):
            if (aid, uid) not in self.via_group:
                self.via_group[(aid, uid)] = self.app_user_record(aid, uid, "GROUP")
            return
        self.via_group[(aid, uid)] = self.app_user_record(aid, uid, "GROUP")
        self.app_membership_event(True, aid, uid, actor)

    def remove_member(self, gid, uid, actor):
        if uid not in self.members[gid]:
            raise not_found(uid, "User")
        self.members[gid].remove(uid)
        self.groups[gid]["lastMembershipUpdated"] = iso_ms(self.tick())
        self.event("group.user_membership.remove", "Remove user from group membership",
                   "core.user_group_member.user_remove", actor,
                   [self.user_target(uid), self.group_target(gid)],
                   {"requestUri": "/api/v1/groups/%s/users/%s" % (gid, uid),
                    "url": "/api/v1/groups/%s/users/%s?" % (gid, uid)})
        for aid in self.apps:
            if gid in self.app_groups[aid] and (aid, uid) in self.via_group \
                    and not self.groups_granting(aid, uid):
                del self.via_group[(aid, uid)]
                if (aid, uid) not in self.direct:
                    self.app_membership_event(False, aid, uid, actor)

    def assign_group(self, aid, gid, actor):
        if gid in self.app_groups[aid]:
            return
        self.app_groups[aid].append(gid)
        for uid in self.members[gid]:
            self.grant_via_group(aid, uid, actor)


# --- paging helpers -------------------------------------------------------------------

def int_param(query, name, default, lo, hi, clamp=True):
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise validation_failed(name, "%s: must be an integer" % name)
    if value < lo or value > hi:
        if clamp:
            return max(lo, min(hi, value))
        raise validation_failed(name, "%s: must be between %d and %d" % (name, lo, hi))
    return value


def page_by_id(items, query, default_limit, max_limit, path):
    """Okta's cursor paging over a list of dicts with `id`: `after` is the last id seen."""
    limit = int_param(query, "limit", default_limit, -1, max_limit)
    if limit <= 0:  # Okta's "-1": the default page size
        limit = default_limit
    start = 0
    after = query.get("after")
    if after:
        ids = [i["id"] for i in items]
        if after not in ids:
            raise ApiError(400, "E0000029", "Invalid paging request.", ["Invalid cursor."])
        start = ids.index(after) + 1
    page = items[start:start + limit]
    links = [(path_with(path, query, drop=()), "self")]
    if start + limit < len(items) and page:
        links.append((path_with(path, query, after=page[-1]["id"]), "next"))
    return page, links


def path_with(path, query, after=None, drop=("after",)):
    params = {k: v for k, v in query.items() if k not in drop}
    if after is not None:
        params["after"] = after
    encoded = urllib.parse.urlencode(params, quote_via=urllib.parse.quote)
    return PUBLIC_URL + path + ("?" + encoded if encoded else "")


# --- the HTTP handler ------------------------------------------------------------------

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "okta-double/1"

    def log_message(self, fmt, *args):  # quiet
        pass

    def do_GET(self):
        self.handle_any()

    def do_POST(self):
        self.handle_any()

    def do_PUT(self):
        self.handle_any()

    def do_DELETE(self):
        self.handle_any()

    def do_PATCH(self):
        self.handle_any()

    def send_json(self, status, body, headers=None, links=()):
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        for url, rel in links:
            self.send_header("Link", '<%s>; rel="%s"' % (url, rel))
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self):
        parsed = urllib.parse.urlsplit(self.path)
        path = parsed.path
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(parsed.query, keep_blank_values=True).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
            body_ok = True
        except ValueError:
            body, body_ok = raw.decode("utf-8", "replace"), False
        auth = self.headers.get("Authorization") or ""
        token = auth[5:].strip() if auth.startswith("SSWS ") else None
        try:
            if path.startswith("/_double/"):
                status, out = control(self.command, path, query, body, token)
                self.send_json(status, out)
                return
            with LOCK:
                org = ORGS.get(token)
                if org is not None and path.startswith("/api/"):
                    org.requests.append({"method": self.command, "path": path, "query": query,
                                         "body": body})
            if org is None:
                raise ApiError(401, "E0000011", "Invalid token provided")
            if not path.startswith("/api/v1/"):
                raise not_found(path, "Resource")
            with LOCK:
                failure = take_failure(org, path)
                if failure:
                    raise failure
                if not body_ok:
                    raise ApiError(400, "E0000003", "The request body was not well-formed.")
                status, out, links = api(org, self.command, path, query, body)
            headers = {"X-Rate-Limit-Limit": "600", "X-Rate-Limit-Remaining": "599",
                       "X-Rate-Limit-Reset": str(int(time.time()) + 60)}
            self.send_json(status, out, headers, links)
        except ApiError as e:
            self.send_json(e.status, e.body(), e.headers)
        except Exception as e:  # a bug in the double: say so loudly
            self.send_json(500, {"errorCode": "E0000009", "errorSummary": "double bug: %r" % e,
                                 "errorLink": "E0000009", "errorId": error_id(),
                                 "errorCauses": []})
            raise


def take_failure(org, path):
    for rule in org.failures:
        if not path.startswith(rule["pathPrefix"]):
            continue
        seen = rule["seen"]
        rule["seen"] += 1
        if rule["after"] <= seen < rule["after"] + rule["count"]:
            return injected(rule["status"])
    return None


def require_object(body):
    if not isinstance(body, dict):
        raise ApiError(400, "E0000003", "The request body was not well-formed.")
    return body


def bool_param(query, name, default):
    raw = query.get(name)
    if raw is None:
        return default
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    raise validation_failed(name, "%s: must be true or false" % name)


def api(org, method, path, query, body):
    parts = [urllib.parse.unquote(p) for p in path[len("/api/v1/"):].strip("/").split("/")]
    head = parts[0]
    if head == "users":
        return users_api(org, method, parts[1:], query, body)
    if head == "apps":
        return apps_api(org, method, parts[1:], query)
    if head == "groups":
        return groups_api(org, method, parts[1:], query)
    if head == "logs" and len(parts) == 1:
        only(method, "GET")
        return logs_api(org, query)
    if parts[:3] == ["meta", "schemas", "user"] and len(parts) == 4:
        only(method, "GET")
        if parts[3] not in ("default", SCHEMA_ID):
            raise not_found(parts[3], "UserSchema")
        return 200, user_schema(org), ()
    raise not_found(path, "Resource")


def only(method, *allowed):
    if method not in allowed:
        raise ApiError(405, "E0000022", "The endpoint does not support the provided HTTP method")


USER_FILTER_ATTRS = {"id", "status", "lastUpdated", "created", "activated", "statusChanged",
                     "profile.login", "profile.email", "profile.firstName", "profile.lastName",
                     "type.id"}


def users_api(org, method, rest, query, body):
    if not rest:
        if method == "GET":
            users = list(org.users.values())
            if query.get("filter") or query.get("search"):
                expr = parse_filter(query.get("filter") or query.get("search"))
                if query.get("filter"):
                    for attr, op in comparisons(expr):
                        if attr not in USER_FILTER_ATTRS or (
                                op != "eq" and attr not in ("lastUpdated", "created",
                                                            "activated", "statusChanged")):
                            raise invalid_search()
                users = [u for u in users if evaluate(expr, u)]
            elif query.get("q"):
                q = query["q"].lower()
                users = [u for u in users if u["status"] != "DEPROVISIONED" and any(
                    (u["profile"].get(k) or "").lower().startswith(q)
                    for k in ("firstName", "lastName", "email", "login"))]
            else:
                users = [u for u in users if u["status"] != "DEPROVISIONED"]
            page, links = page_by_id(users, query, 200, 200, "/api/v1/users")
            return 200, [org.render_user(u) for u in page], links
        only(method, "POST")
        body = require_object(body)
        activate = bool_param(query, "activate", True)
        bool_param(query, "provider", False)
        if "profile" not in body:
            raise validation_failed("profile", "profile: The field cannot be left blank")
        profile = body["profile"]
        org.validate_profile(profile, creating=True)
        group_ids = body.get("groupIds") or []
        for gid in group_ids:
            if gid not in org.groups:
                raise validation_failed("groupIds", "groupIds: Group %s does not exist" % gid)
        user = org.new_user({k: v for k, v in profile.items()}, "ACTIVE" if activate else "STAGED")
        org.lifecycle_event("create", user["id"])
        if activate:
            org.lifecycle_event("activate", user["id"])
        for gid in group_ids:
            org.add_member(gid, user["id"], org.self_id)
        return 200, org.render_user(user), ()
    user = org.user_or_404(rest[0])
    if len(rest) == 1:
        if method == "GET":
            return 200, org.render_user(user), ()
        only(method, "POST")
        body = require_object(body)
        profile = body.get("profile", {})
        if user["status"] == "DEPROVISIONED":
            raise ApiError(403, "E0000038", "This operation is not allowed in the user's current status.")
        org.validate_profile(profile, creating=False, user=user)
        changed = [k for k, v in profile.items() if user["profile"].get(k) != v]
        if changed:
            user["profile"].update(profile)
            user["lastUpdated"] = iso_ms(org.tick())
            org.profile_event(user["id"], changed, org.self_id)
        return 200, org.render_user(user), ()
    if len(rest) == 3 and rest[1] == "lifecycle":
        only(method, "POST")
        action = rest[2]
        if action == "activate":
            send_email = bool_param(query, "sendEmail", True)
            if user["status"] == "ACTIVE":
                raise ApiError(403, "E0000016", "Activation failed because the user is already active")
            if user["status"] not in ("STAGED", "PROVISIONED", "DEPROVISIONED"):
                raise ApiError(403, "E0000038", "This operation is not allowed in the user's current status.")
            set_status(org, user, "ACTIVE")
            org.lifecycle_event("activate", user["id"])
            if send_email:
                return 200, {}, ()
            token = "".join(random.choice(BASE62) for _ in range(20))
            return 200, {"activationUrl": PUBLIC_URL + "/welcome/" + token,
                         "activationToken": token}, ()
        if action == "deactivate":
            bool_param(query, "sendEmail", False)
            if user["status"] == "DEPROVISIONED":
                # What Okta answers for a user who is already deactivated.
                raise not_found(user["id"], "User")
            set_status(org, user, "DEPROVISIONED")
            org.lifecycle_event("deactivate", user["id"])
            return 200, {}, ()
    raise not_found("/".join(rest), "Resource")


def set_status(org, user, status):
    stamp = iso_ms(org.tick())
    user["status"] = status
    user["statusChanged"] = stamp
    user["lastUpdated"] = stamp
    if status == "ACTIVE":
        user["activated"] = stamp


def apps_resolver(org):
    def resolve(app, attr):
        if attr == "user.id":
            return [uid for (aid, uid) in list(org.direct) + list(org.via_group) if aid == app["id"]]
        if attr == "group.id":
            return list(org.app_groups.get(app["id"], []))
        return path_values(app, attr)
    return resolve


def apps_api(org, method, rest, query):
    only(method, "GET")
    if not rest:
        apps = list(org.apps.values())
        if query.get("filter"):
            expr = parse_filter(query["filter"])
            for attr, op in comparisons(expr):
                if op != "eq" or attr not in ("status", "user.id", "group.id", "name",
                                              "credentials.signing.kid"):
                    raise invalid_search()
            resolve = apps_resolver(org)
            apps = [a for a in apps if evaluate(expr, a, resolve)]
        if query.get("q"):
            q = query["q"].lower()
            apps = [a for a in apps if a["label"].lower().startswith(q) or a["name"].startswith(q)]
        page, links = page_by_id(apps, query, 20, 200, "/api/v1/apps")
        return 200, [org.render_app(a) for a in page], links
    app = org.app_or_404(rest[0])
    if len(rest) == 1:
        return 200, org.render_app(app), ()
    if rest[1] == "users" and len(rest) == 2:
        uids = [u for u in org.users if org.assignment(app["id"], u)]
        items = [{"id": u} for u in uids]
        page, links = page_by_id(items, query, 50, 500, "/api/v1/apps/%s/users" % app["id"])
        return 200, [org.render_app_user(app["id"], i["id"]) for i in page], links
    if rest[1] == "users" and len(rest) == 3:
        uid = rest[2]
        if not org.assignment(app["id"], uid):
            raise not_found(uid, "AppUser")
        return 200, org.render_app_user(app["id"], uid), ()
    if rest[1] == "groups" and len(rest) == 2:
        items = [{"id": g} for g in org.app_groups[app["id"]]]
        page, links = page_by_id(items, query, 20, 200, "/api/v1/apps/%s/groups" % app["id"])
        return 200, [{"id": i["id"], "priority": n, "profile": {},
                      "lastUpdated": org.groups[i["id"]]["lastUpdated"]}
                     for n, i in enumerate(page)], links
    raise not_found("/".join(rest), "Resource")


def groups_api(org, method, rest, query):
    only(method, "GET")
    if not rest:
        groups = list(org.groups.values())
        if query.get("filter") or query.get("search"):
            expr = parse_filter(query.get("filter") or query.get("search"))
            groups = [g for g in groups if evaluate(expr, g)]
        if query.get("q"):
            q = query["q"].lower()
            groups = [g for g in groups if g["profile"]["name"].lower().startswith(q)]
        page, links = page_by_id(groups, query, 10000, 10000, "/api/v1/groups")
        return 200, [org.render_group(g) for g in page], links
    group = org.group_or_404(rest[0])
    if len(rest) == 1:
        return 200, org.render_group(group), ()
    if rest[1] == "users" and len(rest) == 2:
        users = [org.users[u] for u in org.members[group["id"]]]
        page, links = page_by_id(users, query, 1000, 1000, "/api/v1/groups/%s/users" % group["id"])
        return 200, [org.render_user(u) for u in page], links
    raise not_found("/".join(rest), "Resource")


def logs_api(org, query):
    until_raw = query.get("until")
    since_raw = query.get("since")
    until = parse_time(until_raw) if until_raw else None
    if until_raw and until is None:
        raise validation_failed("until", "until: Invalid date format")
    since = parse_time(since_raw) if since_raw else None
    if since_raw and since is None:
        raise validation_failed("since", "since: Invalid date format")
    if since is None:
        since = (until if until is not None else now_ms()) - 7 * 24 * 3600 * 1000
    if until is not None and since > until:
        raise validation_failed("since", "since: must be before until")
    limit = int_param(query, "limit", 100, 0, 1000, clamp=False)
    order = (query.get("sortOrder") or "ASCENDING").upper()
    if order not in ("ASCENDING", "DESCENDING"):
        raise validation_failed("sortOrder", "sortOrder: must be ASCENDING or DESCENDING")
    expr = parse_filter(query["filter"]) if query.get("filter") else None
    words = (query.get("q") or "").lower().split()
    descending = order == "DESCENDING"

    if query.get("after"):
        m = re.match(r"^(\d+)_(.*)$", query["after"])
        if not m:
            raise ApiError(400, "E0000031", "Invalid search criteria.", ["Invalid cursor."])
        position = (int(m.group(1)), m.group(2))
    else:
        position = None

    def keep(rec):
        if rec["ms"] < since or (until is not None and rec["ms"] >= until):
            return False
        key = (rec["ms"], rec["uuid"])
        if position is not None and (key <= position if not descending else key >= position):
            return False
        event = rec["event"]
        if expr is not None and not (isinstance(event, dict) and evaluate(expr, event)):
            return False
        if words:
            text = json.dumps(event).lower()
            if not all(w in text for w in words):
                return False
        return True

    matching = sorted((r for r in org.events if keep(r)), key=lambda r: (r["ms"], r["uuid"], r["seq"]),
                      reverse=descending)
    page = matching[:limit]
    more = len(matching) > len(page)
    links = [(path_with("/api/v1/logs", query, drop=()), "self")]
    if page:
        cursor = "%d_%s" % (page[-1]["ms"], page[-1]["uuid"])
    elif position is not None:
        cursor = "%d_%s" % position
    elif descending:
        cursor = "%d_" % (until if until is not None else 9999999999999)
    else:
        # Nothing yet: resume at `since` ("<ms>_" sorts before every event of that ms).
        cursor = "%d_" % since
    if until is None or more:
        links.append((path_with("/api/v1/logs", query, after=cursor), "next"))
    return 200, [r["event"] for r in page], links


def user_schema(org):
    def attr(name, title, required=False):
        a = {"title": title, "type": "string", "mutability": "READ_WRITE", "scope": "NONE",
             "permissions": [{"principal": "SELF", "action": "READ_WRITE"}]}
        if required:
            a["required"] = True
        if name == "login":
            a.update({"minLength": 5, "maxLength": 100, "pattern": ".+"})
        if name in ("email", "secondEmail"):
            a["format"] = "email"
        return a

    stamp = org.users[org.self_id]["created"]
    return {
        "id": PUBLIC_URL + "/meta/schemas/user/" + SCHEMA_ID,
        "$schema": "http://json-schema.org/draft-04/schema#",
        "name": "user",
        "title": "User",
        "description": "Okta user profile template with default permission settings",
        "lastUpdated": stamp,
        "created": stamp,
        "definitions": {
            "custom": {"id": "#custom", "type": "object",
                       "properties": {n: attr(n, t) for n, t in CUSTOM_ATTRIBUTES},
                       "required": []},
            "base": {"id": "#base", "type": "object",
                     "properties": {n: attr(n, t, n in REQUIRED) for n, t in BASE_ATTRIBUTES},
                     "required": list(REQUIRED)},
        },
        "type": "object",
        "properties": {"profile": {"allOf": [{"$ref": "#/definitions/custom"},
                                             {"$ref": "#/definitions/base"}]}},
        "_links": {"self": {"href": PUBLIC_URL + "/api/v1/meta/schemas/user/" + SCHEMA_ID,
                            "method": "GET"}},
    }


# --- control endpoints -----------------------------------------------------------------

class ControlError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def control(method, path, query, body, token):
    parts = path[len("/_double/"):].strip("/").split("/")
    with LOCK:
        if parts == ["orgs"] and method == "POST":
            wanted = (body or {}).get("token") if isinstance(body, dict) else None
            new_token = wanted or "okta-test-token-" + uuidlib.uuid4().hex[:12]
            if new_token in ORGS:
                return 409, {"error": "an org with this token exists"}
            org = Org(new_token)
            ORGS[new_token] = org
            return 200, {"token": new_token, "selfUserId": org.self_id, "adminUserId": org.admin_id}
        org = ORGS.get(token)
        if org is None:
            return 401, {"error": "unknown org token"}
        try:
            return control_org(org, method, parts, query, body)
        except ApiError as e:
            return e.status, {"error": e.summary}
        except ControlError as e:
            return e.status, {"error": str(e)}
        except (KeyError, TypeError, ValueError) as e:
            return 400, {"error": "bad control request: %r" % e}


def control_org(org, method, parts, query, body):
    admin = org.admin_id
    key = (method, "/".join("*" if i % 2 else p for i, p in enumerate(parts)))
    if key == ("DELETE", "org"):
        ORGS.pop(org.token, None)
        return 200, {}
    if key == ("GET", "self"):
        return 200, {"id": org.self_id}
    if key == ("POST", "apps"):
        return 200, org.render_app(org.new_app(body["label"]))
    if method == "POST" and len(parts) == 3 and parts[0] == "apps" and parts[2] == "deactivate":
        app = org.app_or_404(parts[1])
        app["status"] = "INACTIVE"
        app["lastUpdated"] = iso_ms(org.tick())
        org.event("application.lifecycle.deactivate", "Deactivate application",
                  "app.generic.config.app_deactivated", admin, [org.app_target(app["id"])])
        return 200, {}
    if key == ("POST", "groups"):
        return 200, org.render_group(org.new_group(body["name"], body.get("description")))
    if len(parts) == 4 and parts[0] == "apps" and parts[2] in ("groups", "users"):
        org.app_or_404(parts[1])
        if parts[2] == "groups":
            org.group_or_404(parts[3])
            if method != "PUT":
                raise ControlError(405, "PUT only")
            org.assign_group(parts[1], parts[3], admin)
            return 200, {}
        org.user_or_404(parts[3])
        if method == "PUT":
            org.assign(parts[1], parts[3], admin)
            return 200, org.render_app_user(parts[1], parts[3])
        if method == "DELETE":
            org.unassign(parts[1], parts[3], admin)
            return 200, {}
    if len(parts) == 4 and parts[0] == "groups" and parts[2] == "users":
        org.group_or_404(parts[1])
        uid = org.user_or_404(parts[3])["id"]
        if method == "PUT":
            org.add_member(parts[1], uid, admin)
            return 200, {}
        if method == "DELETE":
            org.remove_member(parts[1], uid, admin)
            return 200, {}
    if key == ("POST", "users"):
        status = body.get("status") or "ACTIVE"
        if status not in USER_STATUSES:
            raise ControlError(400, "unknown status %s" % status)
        profile = body.get("profile")
        if not isinstance(profile, dict) or not profile.get("login"):
            raise ControlError(400, "profile.login is required")
        if org.find_user(profile["login"]):
            raise ControlError(409, "login %s exists" % profile["login"])
        return 200, org.render_user(org.new_user(dict(profile), status))
    if key == ("GET", "users"):
        return 200, [org.render_user(u) for u in org.users.values() if not u.get("builtin")]
    if method == "GET" and len(parts) == 2 and parts[0] == "users":
        user = org.find_user(urllib.parse.unquote(parts[1]))
        if user is None:
            return 404, {"error": "no such user"}
        return 200, org.render_user(user)
    if method == "POST" and len(parts) == 3 and parts[0] == "users" and parts[2] == "profile":
        user = org.user_or_404(parts[1])
        if not isinstance(body, dict):
            raise ControlError(400, "changes must be an object")
        changed = [k for k, v in body.items() if user["profile"].get(k) != v]
        if changed:
            user["profile"].update(body)
            user["lastUpdated"] = iso_ms(org.tick())
            org.profile_event(user["id"], changed, admin)
        return 200, org.render_user(user)
    if key == ("POST", "logs"):
        events = body if isinstance(body, list) else [body]
        for event in events:
            org.append_event(event)
        return 200, {}
    if key == ("GET", "logs"):
        return 200, [r["event"] for r in org.events]
    if key == ("POST", "fail"):
        status = int(body["status"])
        if status < 400 or status == 501 or status > 599:
            raise ControlError(400, "status must be 4xx or 5xx other than 501 "
                                    "(Prism answers an upstream 501 with a mock)")
        if int(body.get("count", 1)) == 0:
            # count 0 ends the failures injected for that path: the outage is over.
            org.failures = [r for r in org.failures if r["pathPrefix"] != body["pathPrefix"]]
            return 200, {}
        org.failures.append({"pathPrefix": body["pathPrefix"], "status": status,
                             "count": int(body.get("count", 1)),
                             "after": int(body.get("after", 0)), "seen": 0})
        return 200, {}
    if key == ("GET", "requests"):
        return 200, org.requests
    raise ControlError(404, "no control endpoint %s /_double/%s" % (method, "/".join(parts)))


# --- Prism ----------------------------------------------------------------------------

# Prism's own HTTP server with the settings of `prism proxy --errors`, except that
# responses are not validated: with --errors, Prism turns every response that differs
# from the 2.15.0 spec into a 500, and real Okta's answers do differ (null attributes,
# `_links.logo` arrays, string values in debugData and app-user profiles).
PRISM_LAUNCHER = r"""
const [spec, upstream, host, port] = process.argv.slice(1);
const { getHttpOperationsFromSpec } = require('@stoplight/prism-http');
const { createServer } = require('@stoplight/prism-http-server');
const { createLogger } = require('@stoplight/prism-core');
(async () => {
  const operations = await getHttpOperationsFromSpec(spec);
  const logger = createLogger('OKTA-PROXY', { level: 'info' });
  const config = {
    validateRequest: true, validateResponse: false, checkSecurity: true, errors: true,
    isProxy: true, upstream: new URL(upstream), upstreamProxy: undefined,
    mock: { dynamic: false },
  };
  const server = createServer(operations, {
    cors: false, config, components: { logger: logger.child({ name: 'HTTP SERVER' }) },
  });
  await server.listen(Number(port), host);
  logger.info('Prism proxy listening on ' + host + ':' + port + ', upstream ' + upstream);
})().catch(e => { console.error(e); process.exit(1); });
"""

PRISM = None


def start_prism(prism_dir, port, upstream, log_path):
    global PRISM
    spec = os.path.join(prism_dir, "node_modules", "@okta", "openapi", "dist", "spec.yaml")
    if not os.path.exists(spec):
        sys.exit("okta_double: %s is missing: run scripts/install-test-services" % spec)
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL

    def die_with_parent():
        try:
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except OSError:
            pass

    PRISM = subprocess.Popen(
        ["node", "-e", PRISM_LAUNCHER, spec, upstream, "127.0.0.1", str(port)],
        cwd=prism_dir, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
        preexec_fn=die_with_parent)
    deadline = time.time() + 120
    while time.time() < deadline:
        if PRISM.poll() is not None:
            sys.exit("okta_double: Prism exited with %s (see %s)" % (PRISM.returncode, log_path))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    stop_prism()
    sys.exit("okta_double: Prism did not listen on %d within 120 s" % port)


def stop_prism():
    if PRISM is not None and PRISM.poll() is None:
        PRISM.terminate()
        try:
            PRISM.wait(3)
        except subprocess.TimeoutExpired:
            PRISM.kill()
            PRISM.wait()


def shutdown(*_):
    stop_prism()
    os._exit(0)


def main():
    global PUBLIC_URL
    parser = argparse.ArgumentParser(description="A test double of Okta's management API.")
    parser.add_argument("port", type=int)
    parser.add_argument("token")
    parser.add_argument("--public-url", help="the base URL of links (default: this server's)")
    parser.add_argument("--prism-dir", help="where @stoplight/prism-cli and @okta/openapi are installed")
    parser.add_argument("--prism-port", type=int)
    parser.add_argument("--prism-log")
    parser.add_argument("--exit-on-stdin-eof", action="store_true",
                        help="stop (and stop Prism) when standard input closes")
    args = parser.parse_args()
    ORGS[args.token] = Org(args.token)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    if args.exit_on_stdin_eof:
        def watch():
            while sys.stdin.buffer.read(65536):
                pass
            shutdown()
        threading.Thread(target=watch, daemon=True).start()
    if args.prism_dir:
        if not args.prism_port:
            sys.exit("okta_double: --prism-dir needs --prism-port")
        PUBLIC_URL = args.public_url or "http://127.0.0.1:%d" % args.prism_port
        threading.Thread(target=server.serve_forever, daemon=True).start()
        start_prism(args.prism_dir, args.prism_port, "http://127.0.0.1:%d" % args.port,
                    args.prism_log)
    else:
        PUBLIC_URL = args.public_url or "http://127.0.0.1:%d" % args.port
        threading.Thread(target=server.serve_forever, daemon=True).start()
    print("READY " + PUBLIC_URL, flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        stop_prism()


if __name__ == "__main__":
    main()
