"""A webhook receiver for the benchmark: answers 204, counts events and the
judgements they carry, and prints the counts as JSON on SIGTERM."""
import json
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

counts = {"events": 0, "judgements": 0, "ids": set()}


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        event = json.loads(body)
        counts["events"] += 1
        counts["ids"].add(event["id"])
        if event["type"] == "judgement.created":
            counts["judgements"] += len(event["data"]["judgements"])
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)


def stop(*_):
    print(json.dumps({"events": counts["events"], "distinct": len(counts["ids"]), "judgements": counts["judgements"]}), flush=True)
    sys.exit(0)


signal.signal(signal.SIGTERM, stop)
server.serve_forever()
