#!/usr/bin/env python3
"""Runs the worker in an empty root against a local HTTPS 'S3' with a self-signed certificate
and an HTTP orchestrator. The job must fail with download_failed naming the certificate: that
shows TLS works in the scratch image (provider installed, roots built in) without a CA bundle.
Usage: tls_probe.py CHROOT ROOT"""
import http.server
import json
import os
import socketserver
import ssl
import subprocess
import sys
import tempfile
import threading

chroot, root = sys.argv[1], sys.argv[2]
tmp = tempfile.mkdtemp()
key, cert = os.path.join(tmp, "k.pem"), os.path.join(tmp, "c.pem")
subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
                "-days", "1", "-keyout", key, "-out", cert], check=True, capture_output=True)

class Quiet(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

callbacks = []

class Orchestrator(Quiet):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        callbacks.append(json.loads(body))
        self.send_response(200)
        self.end_headers()

class S3(Quiet):
    def do_HEAD(self):
        self.send_response(200)
        self.end_headers()

def serve(handler, tls):
    srv = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    if tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv.server_address[1]

s3, orch = serve(S3, True), serve(Orchestrator, False)
env = {
    "TASK_ID": "t", "BATCH_ID": "b", "INPUT_R2_KEY": "staging/b/in.jpg", "INPUT_FILE_NAME": "in.jpg",
    "INPUT_CONTENT_TYPE": "image/jpeg", "INPUT_FILE_SIZE": "1", "R2_ENDPOINT": f"https://127.0.0.1:{s3}",
    "R2_ACCESS_KEY_ID": "AKIATLSPROBE", "R2_SECRET_ACCESS_KEY": "tlsprobesecret", "R2_BUCKET": "s",
    "ARCHIVE_BUCKET": "a", "CDN_API_URL": "https://cdn.example", "CDN_PUBLIC_URL": "https://cdn.example",
    "CALLBACK_URL": f"http://127.0.0.1:{orch}/cb",
}
run = subprocess.run([chroot, root, "/arke-image-processor"], env=env, capture_output=True, text=True, timeout=120)
assert run.returncode == 1, (run.returncode, run.stdout, run.stderr)
assert len(callbacks) == 1, callbacks
cb = callbacks[0]
assert cb["error_code"] == "download_failed", cb
assert "certificate" in cb["error"].lower() or "unknownissuer" in cb["error"].lower(), cb
assert "panic" not in run.stdout.lower(), run.stdout
print("TLS in the empty root reached certificate verification:", cb["error"][:160])
