"""A Workday RaaS stand-in for tests: serves one JSON report file over HTTPS with Basic auth.

The file is read on every request, so a test can change the report between fetches. When a
file REPORT_FILE.cut holds a number N, the server announces the whole length but sends only
the first N bytes and closes the connection: a transfer that breaks off mid-stream.
usage: serve_report.py PORT REPORT_FILE USER PASSWORD CERT KEY
"""
import base64
import http.server
import ssl
import sys

port, report, user, password, cert, key = sys.argv[1:7]
expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.headers.get("Authorization") != expected:
            self.send_response(401)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        with open(report, "rb") as f:
            body = f.read()
        try:
            with open(report + ".cut") as f:
                sent = int(f.read())
        except FileNotFoundError:
            sent = len(body)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[:sent])
        if sent < len(body):
            self.close_connection = True

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", int(port)), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
server.socket = context.wrap_socket(server.socket, server_side=True)
server.serve_forever()
