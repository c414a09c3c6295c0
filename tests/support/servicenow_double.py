#!/usr/bin/env python3
"""A TEST DOUBLE of ServiceNow's Table API, for the runtime's tests. It is not ServiceNow.

No emulator of ServiceNow exists, so the tests run this stateful stand-in on loopback. It is
shaped on ServiceNow's documented REST Table API (docs.servicenow.com, "Table API": the
`/api/now[/v1|/v2]/table/{tableName}[/{sys_id}]` endpoints, the `sysparm_query` encoded
queries, `sysparm_limit` / `sysparm_offset` paging with the `X-Total-Count` and `Link`
headers, `sysparm_fields`, `{"result": ...}` envelopes, and the error body
`{"error": {"message": ..., "detail": ...}, "status": "failure"}`) and on the answers
ServiceNow is known to give: 401 "User Not Authenticated" for missing or wrong Basic
credentials, 404 "No Record found" for an unknown sys_id, 400 "Invalid table <name>",
every field returned as text (`active` is "true" or "false"), a duplicate user_name
refused with 403 "Operation Failed". The values here are made up.

What it models, per ServiceNow instance (one per Basic user; `POST /_double/instances`
makes a new one with its own credentials):
  * sys_user: insert (POST), read, list, PATCH / PUT (changes only the given fields),
    DELETE; `name` calculated from first_name and last_name; sys_* fields kept by the
    instance; unknown fields in a body ignored, as ServiceNow does;
  * sys_dictionary: read-only, the columns of sys_user (and the table's collection entry,
    whose element is empty); internal_type is a reference, sent as {link, value} unless
    sysparm_exclude_reference_link=true;
  * encoded queries: conditions joined by ^ (AND), ^OR, ^NQ; operators =, !=, <, <=, >,
    >=, LIKE, NOT LIKE, STARTSWITH, ENDSWITH, IN, NOT IN, ISEMPTY, ISNOTEMPTY, ANYTHING;
    ORDERBY / ORDERBYDESC; string comparisons ignore case, as ServiceNow's database
    does. A condition on an unknown field, or one that does not parse, is ignored: that is
    ServiceNow's default (glide.invalid_query.returns_no_rows = false), and the reason a
    client must not trust a query alone;
  * field=value query parameters (ServiceNow's other filter form), ANDed with the query;
  * a malformed sysparm_limit or sysparm_offset, a body that is not a JSON object, a
    method the endpoint does not have, a Content-Type other than JSON or XML, an Accept
    without JSON: ServiceNow's error body with 400 / 405 / 415 / 406 (XML bodies
    are refused as not JSON: the double speaks JSON only);
  * a "business rule" (`POST /_double/business-rules`) that silently keeps fields as they
    were on update, and injected failures (`POST /_double/fail`).
What it does not model: ACLs and roles (every authenticated user may do anything), OAuth,
display values (sysparm_display_value is ignored), reference fields of sys_user
(department, manager, company, location hold plain text), dot-walking, domain separation,
the XML format, aggregate and import set APIs, and any table but sys_user and
sys_dictionary.

Usage: servicenow_double.py [--exit-on-stdin-eof]
Listens on a free loopback port and prints "READY <url>" on stdout. Control endpoints live
under /_double/ and take the instance's Basic credentials like the API.
"""

import argparse
import base64
import datetime as dt
import json
import os
import re
import secrets
import sys
import threading
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.RLock()
INSTANCES = {}  # Basic user name -> Instance

# sys_user's columns: name -> (label, internal type). Booleans are kept as "true"/"false".
SYS_USER_COLUMNS = {
    "sys_id": ("Sys ID", "GUID"),
    "user_name": ("User ID", "string"),
    "first_name": ("First name", "string"),
    "middle_name": ("Middle name", "string"),
    "last_name": ("Last name", "string"),
    "name": ("Name", "string"),
    "email": ("Email", "email"),
    "title": ("Title", "string"),
    "department": ("Department", "reference"),
    "manager": ("Manager", "reference"),
    "company": ("Company", "reference"),
    "location": ("Location", "reference"),
    "city": ("City", "string"),
    "state": ("State / Province", "string"),
    "country": ("Country code", "string"),
    "zip": ("Zip / Postal code", "string"),
    "street": ("Street", "string"),
    "phone": ("Business phone", "ph_number"),
    "mobile_phone": ("Mobile phone", "ph_number"),
    "employee_number": ("Employee number", "string"),
    "active": ("Active", "boolean"),
    "locked_out": ("Locked out", "boolean"),
    "web_service_access_only": ("Web service access only", "boolean"),
    "sys_created_on": ("Created", "glide_date_time"),
    "sys_created_by": ("Created by", "string"),
    "sys_updated_on": ("Updated", "glide_date_time"),
    "sys_updated_by": ("Updated by", "string"),
    "sys_mod_count": ("Updates", "integer"),
    "sys_class_name": ("Class", "sys_class_name"),
}
BOOLEAN_DEFAULTS = {"active": "true", "locked_out": "false", "web_service_access_only": "false"}
# Kept by the instance: a body cannot set them (name is calculated).
SYSTEM_FIELDS = {"sys_created_on", "sys_created_by", "sys_updated_on", "sys_updated_by",
                 "sys_mod_count", "sys_class_name", "name"}
MAX_LIMIT = 10000

OPERATORS = ["ISNOTEMPTY", "ISEMPTY", "ANYTHING", "NOT LIKE", "NOT IN", "STARTSWITH",
             "ENDSWITH", "LIKE", "IN", "!=", ">=", "<=", "=", ">", "<"]
FIELD = re.compile(r"[a-z_][a-z0-9_]*")


class ApiError(Exception):
    def __init__(self, status, message, detail=None):
        super().__init__(message)
        self.status, self.message, self.detail = status, message, detail

    def body(self):
        return {"error": {"message": self.message, "detail": self.detail}, "status": "failure"}


def not_found():
    return ApiError(404, "No Record found",
                    "Record doesn't exist or ACL restricts the record retrieval")


def now_text():
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


class Instance:
    def __init__(self, user, password):
        self.user, self.password = user, password
        self.users = {}  # sys_id -> record (every column, as text)
        self.requests = []
        self.kept_fields = set()  # the business rule's fields
        # {pathPrefix, method (optional), status, count, message, detail}
        self.failures = []

    # --- sys_user ------------------------------------------------------------------------

    def insert_user(self, body):
        record = {column: "" for column in SYS_USER_COLUMNS}
        record.update(BOOLEAN_DEFAULTS)
        sys_id = body.get("sys_id")
        if not (isinstance(sys_id, str) and re.fullmatch(r"[0-9a-f]{32}", sys_id)):
            sys_id = uuid.uuid4().hex
        if sys_id in self.users:
            raise ApiError(403, "Operation Failed", "Error during insert of sys_user (%s)" % sys_id)
        self.assign(record, body)
        self.check_unique(record, sys_id, "insert")
        stamp = now_text()
        record.update({"sys_id": sys_id, "sys_class_name": "sys_user", "sys_mod_count": "0",
                       "sys_created_on": stamp, "sys_updated_on": stamp,
                       "sys_created_by": self.user, "sys_updated_by": self.user})
        self.users[sys_id] = record
        return record

    def update_user(self, sys_id, body):
        record = self.users.get(sys_id)
        if record is None:
            raise not_found()
        changed = dict(record)
        self.assign(changed, body)
        for field in self.kept_fields:
            changed[field] = record[field]
        self.check_unique(changed, sys_id, "update")
        if changed != record:
            changed["sys_mod_count"] = str(int(record["sys_mod_count"]) + 1)
            changed["sys_updated_on"] = now_text()
            changed["sys_updated_by"] = self.user
        self.users[sys_id] = changed
        return changed

    def assign(self, record, body):
        for field, value in body.items():
            if field not in SYS_USER_COLUMNS or field in SYSTEM_FIELDS or field == "sys_id":
                continue  # ServiceNow ignores fields a table does not have
            record[field] = as_text(field, value)
        record["name"] = " ".join(p for p in (record["first_name"], record["last_name"]) if p)

    def check_unique(self, record, sys_id, operation):
        name = record["user_name"]
        if name and any(u["user_name"].lower() == name.lower() and other != sys_id
                        for other, u in self.users.items()):
            raise ApiError(403, "Operation Failed",
                           "Error during %s of sys_user (%s)" % (operation, name))

    # --- sys_dictionary --------------------------------------------------------------------

    def dictionary(self, base_url, exclude_links):
        def entry(element, label, kind):
            internal = kind if exclude_links else {
                "link": "%s/api/now/table/sys_glide_object?name=%s" % (base_url, kind),
                "value": kind}
            key = "sys_user." + (element or "collection")
            return {"sys_id": uuid.uuid5(uuid.NAMESPACE_URL, key).hex, "name": "sys_user",
                    "element": element, "column_label": label, "internal_type": internal,
                    "active": "true", "mandatory": "true" if element == "sys_id" else "false"}
        rows = [entry("", "User", "collection")]
        rows += [entry(c, label, kind) for c, (label, kind) in SYS_USER_COLUMNS.items()]
        return rows


def as_text(field, value):
    if SYS_USER_COLUMNS[field][1] == "boolean":
        return "true" if value is True or str(value).lower() in ("true", "1") else "false"
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)  # what a Java toString of the JSON would give, roughly
    return str(value)


# --- encoded queries ----------------------------------------------------------------------

def parse_condition(term, columns):
    """(field, operator, value) or None when ServiceNow would ignore the condition."""
    m = FIELD.match(term)
    if not m or m.group(0) not in columns:
        return None
    field, rest = m.group(0), term[m.end():]
    for op in OPERATORS:
        if rest.startswith(op):
            return field, op, rest[len(op):]
    return None


def matches(record, condition):
    field, op, value = condition
    have = str(record.get(field, "")).lower()
    want = value.lower()
    if op == "=":
        return have == want
    if op == "!=":
        return have != want
    if op == "LIKE":
        return want in have
    if op == "NOT LIKE":
        return want not in have
    if op == "STARTSWITH":
        return have.startswith(want)
    if op == "ENDSWITH":
        return have.endswith(want)
    if op in ("IN", "NOT IN"):
        return (have in want.split(",")) == (op == "IN")
    if op == "ISEMPTY":
        return have == ""
    if op == "ISNOTEMPTY":
        return have != ""
    if op == "ANYTHING":
        return True
    try:
        a, b = float(have), float(want)
    except ValueError:
        a, b = have, want
    return {">": a > b, ">=": a >= b, "<": a < b, "<=": a <= b}[op]


def run_query(records, query, columns):
    """The records an encoded query selects, in its order."""
    order = []
    alternatives = []  # ^NQ: OR of queries; each an AND of OR-groups
    for part in query.split("^NQ") if query else []:
        groups = []
        for term in part.split("^"):
            if term.startswith("ORDERBYDESC") or term.startswith("ORDERBY"):
                desc = term.startswith("ORDERBYDESC")
                field = term[len("ORDERBYDESC") if desc else len("ORDERBY"):]
                if field in columns:
                    order.append((field, desc))
                continue
            is_or = term.startswith("OR") and groups
            condition = parse_condition(term[2:] if is_or else term, columns)
            if condition is None:
                continue
            if is_or:
                groups[-1].append(condition)
            else:
                groups.append([condition])
        alternatives.append(groups)

    def selected(record):
        if not alternatives:
            return True
        return any(all(any(matches(record, c) for c in group) for group in groups)
                   for groups in alternatives)

    chosen = [r for r in records if selected(r)]
    for field, desc in reversed(order):
        chosen.sort(key=lambda r: str(r.get(field, "")).lower(), reverse=desc)
    return chosen


def whole_number(params, name, default):
    text = params.get(name)
    if text is None or text == "":
        return default
    try:
        n = int(text)
    except ValueError:
        raise ApiError(400, "Invalid %s" % name, "%s must be a number, not %r" % (name, text))
    if n < 0:
        raise ApiError(400, "%s is %d" % (name.replace("sysparm_", ""), n),
                       "Negative %s is not supported" % name.replace("sysparm_", ""))
    return n


def only_fields(record, fields):
    if not fields:
        return record
    wanted = [f.strip() for f in fields.split(",") if f.strip()]
    return {f: record[f] for f in wanted if f in record}


# --- HTTP ---------------------------------------------------------------------------------

API_PATH = re.compile(r"^/api/now(?:/(v1|v2))?/table/([^/]+)(?:/([^/]+))?$")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("servicenow_double: " + (fmt % args) + "\n")

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

    def send(self, status, body=None, headers=()):
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json;charset=UTF-8")
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def instance(self):
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            try:
                user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return None
            found = INSTANCES.get(user)
            if found and secrets.compare_digest(found.password, password):
                return found
        return None

    def handle_any(self, method):
        url = urllib.parse.urlsplit(self.path)
        params = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        with LOCK:
            try:
                if url.path.startswith("/_double/"):
                    return self.control(method, url.path[len("/_double/"):], raw)
                instance = self.instance()
                if instance is None:
                    raise ApiError(401, "User Not Authenticated",
                                   "Required to provide Auth information")
                media = self.headers.get("Content-Type", "application/json").split(";")[0].strip()
                if raw and media not in ("application/json", "application/xml", "text/xml"):
                    raise ApiError(415, "Unsupported Media Type",
                                   "Content-Type %s is not supported" % media)
                accept = self.headers.get("Accept", "application/json")
                if not any(t in accept for t in ("application/json", "*/*")):
                    raise ApiError(406, "Not Acceptable",
                                   "the double answers only application/json, not %s" % accept)
                try:
                    body = json.loads(raw) if raw.strip() else None
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                instance.requests.append({"method": method, "path": url.path,
                                          "query": params, "body": body})
                for failure in instance.failures:
                    if (failure["count"] > 0 and url.path.startswith(failure["pathPrefix"])
                            and failure.get("method", method) == method):
                        failure["count"] -= 1
                        raise ApiError(failure["status"], failure["message"], failure["detail"])
                self.api(instance, method, url.path, params, body)
            except ApiError as e:
                self.send(e.status, e.body())

    def api(self, instance, method, path, params, body):
        m = API_PATH.match(path)
        if not m:
            raise ApiError(400, "Requested URI does not represent any resource", None)
        _, table, sys_id = m.groups()
        sys_id = urllib.parse.unquote(sys_id) if sys_id else None
        base = "http://%s" % self.headers.get("Host", "127.0.0.1")
        fields = params.get("sysparm_fields")
        if table == "sys_dictionary":
            if method != "GET" or sys_id:
                raise ApiError(403, "User Not Authorized",
                               "The test double's sys_dictionary is read-only")
            exclude = params.get("sysparm_exclude_reference_link") == "true"
            rows = instance.dictionary(base, exclude)
            return self.listing(rows, {c: 1 for c in rows[0]}, params, fields, base, path)
        if table != "sys_user":
            raise ApiError(400, "Invalid table %s" % table, None)
        if method in ("POST", "PUT", "PATCH") and not isinstance(body, dict):
            raise ApiError(400, "Exception while reading request",
                           "The payload is not valid JSON or not a JSON object")
        if sys_id is None:
            if method == "GET":
                users = list(instance.users.values())
                return self.listing(users, SYS_USER_COLUMNS, params, fields, base, path)
            if method == "POST":
                record = instance.insert_user(body)
                location = "%s/api/now/table/sys_user/%s" % (base, record["sys_id"])
                return self.send(201, {"result": only_fields(record, fields)},
                                 [("Location", location)])
            raise ApiError(405, "Method not Supported",
                           "%s is not supported on a table; name a record" % method)
        if method == "GET":
            record = instance.users.get(sys_id)
            if record is None:
                raise not_found()
            return self.send(200, {"result": only_fields(record, fields)})
        if method in ("PUT", "PATCH"):
            record = instance.update_user(sys_id, body)
            return self.send(200, {"result": only_fields(record, fields)})
        if method == "DELETE":
            if instance.users.pop(sys_id, None) is None:
                raise not_found()
            return self.send(204)
        raise ApiError(405, "Method not Supported", "%s is not supported on a record" % method)

    def listing(self, records, columns, params, fields, base, path):
        limit = whole_number(params, "sysparm_limit", MAX_LIMIT)
        offset = whole_number(params, "sysparm_offset", 0)
        chosen = run_query(records, params.get("sysparm_query", ""), columns)
        for name, value in params.items():
            if not name.startswith("sysparm_") and name in columns:
                chosen = [r for r in chosen if matches(r, (name, "=", value))]
        page = chosen[offset:offset + limit]
        headers = [("X-Total-Count", str(len(chosen)))]
        if limit > 0:
            def link(at, rel):
                query = dict(params, sysparm_offset=str(at), sysparm_limit=str(limit))
                return '<%s%s?%s>;rel="%s"' % (base, path, urllib.parse.urlencode(query), rel)
            last = max(0, (len(chosen) - 1) // limit * limit)
            links = [link(0, "first")]
            if offset > 0:
                links.append(link(max(0, offset - limit), "prev"))
            if offset + limit < len(chosen):
                links.append(link(offset + limit, "next"))
            links.append(link(last, "last"))
            headers.append(("Link", ",".join(links)))
        self.send(200, {"result": [only_fields(r, fields) for r in page]}, headers)

    # --- control ---------------------------------------------------------------------------

    def control(self, method, what, raw):
        body = json.loads(raw) if raw.strip() else {}
        if (method, what) == ("POST", "instances"):
            user = "snow-test-" + secrets.token_hex(6)
            password = secrets.token_urlsafe(12)
            INSTANCES[user] = Instance(user, password)
            return self.send(200, {"username": user, "password": password})
        instance = self.instance()
        if instance is None:
            raise ApiError(401, "User Not Authenticated", "Control endpoints take the instance's Basic credentials")
        if (method, what) == ("DELETE", "instance"):
            INSTANCES.pop(instance.user, None)
            return self.send(204)
        if (method, what) == ("GET", "users"):
            return self.send(200, list(instance.users.values()))
        if (method, what) == ("POST", "users"):
            return self.send(200, instance.insert_user(body))
        if (method, what) == ("GET", "requests"):
            return self.send(200, instance.requests)
        if (method, what) == ("POST", "business-rules"):
            instance.kept_fields = set(body.get("keep", []))
            return self.send(204)
        if (method, what) == ("POST", "fail"):
            instance.failures.append(body)
            return self.send(204)
        raise ApiError(404, "No such control endpoint", "%s /_double/%s" % (method, what))


def main():
    parser = argparse.ArgumentParser(description="A test double of ServiceNow's Table API.")
    parser.add_argument("--exit-on-stdin-eof", action="store_true",
                        help="stop when standard input closes")
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    if args.exit_on_stdin_eof:
        def watch():
            while sys.stdin.buffer.read(65536):
                pass
            os._exit(0)
        threading.Thread(target=watch, daemon=True).start()
    print("READY http://127.0.0.1:%d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
