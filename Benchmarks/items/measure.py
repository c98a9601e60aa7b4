#!/usr/bin/env python3
"""Times the item browser's pages through the HTTP API, one keep-alive client,
one request at a time; prints a line per scenario (requests, p50, p99, max in ms)
and writes the numbers as JSON.   python3 measure.py PORT TOKEN PROJECT MAX_ID SEARCH.json OUT.json"""
import http.client
import json
import random
import sys
import time
import urllib.parse

port, token, project, max_id, search_file, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6]
words = json.load(open(search_file))
rng = random.Random(3)
connection = http.client.HTTPConnection("127.0.0.1", int(port))
headers = {"Authorization": f"Bearer {token}"}


def get(path):
    started = time.perf_counter()
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    body = response.read()
    elapsed = (time.perf_counter() - started) * 1000
    if response.status != 200:
        raise SystemExit(f"{path}: HTTP {response.status} {body[:200]!r}")
    return elapsed, json.loads(body)


def pages(query):
    return f"/api/projects/{project}/pairs?limit=50" + ("&" + query if query else "")


def walk(query, count=100):
    """Follows `next` from the first page: `count` requests (fewer if the matches end)."""
    times, after = [], None
    for _ in range(count):
        elapsed, page = get(pages(query) + (f"&after={urllib.parse.quote(after)}" if after else ""))
        times.append(elapsed)
        after = page["next"]
        if after is None:
            break
    return times


def repeat(make_path, count=100):
    return [get(make_path())[0] for _ in range(count)]


scenarios = [
    ("first page", lambda: repeat(lambda: pages(""))),
    ("deep pages, id order (random cursors)", lambda: repeat(lambda: pages(f"after={rng.randrange(max_id)}"))),
    ("walk, newest first", lambda: walk("sort=-id")),
    ("walk, most disagreement first", lambda: walk("sort=-disagreement")),
    ("deep pages, by disagreement (random cursors)", lambda: repeat(lambda: pages(f"sort=-disagreement&after=0~{rng.randrange(max_id)}"))),
    ("deep pages, by judgements (random cursors)", lambda: repeat(lambda: pages(f"sort=judgements&after=0~{rng.randrange(max_id)}"))),
    ("walk, complete pairs", lambda: walk("state=complete")),
    ("walk, disagreement >= 1, most first", lambda: walk("min_disagreement=1&sort=-disagreement")),
    ("walk, reported", lambda: walk("reported=true")),
    ("walk, gold", lambda: walk("gold=true")),
    ("walk, judged by one rater", lambda: walk("raters=rater-7")),
    ("walk, judged by either of two raters, complete", lambda: walk("raters=rater-10,rater-20&state=complete")),
    (f"walk, search a common word", lambda: walk("q=" + words["common"])),
    (f"walk, search a word in 1% of pairs", lambda: walk("q=" + words["middling"])),
    (f"search a rare word", lambda: repeat(lambda: pages("q=" + words["rare"]), 50)),
    # Words of three letters or more match as prefixes: the first three letters of a common word.
    (f"walk, search the first three letters of a common word", lambda: walk("q=" + words["common"][:3])),
    (f"walk, search the first three letters of a word in 1%", lambda: walk("q=" + words["middling"][:3])),
    (f"walk, search two words (model and source)", lambda: walk(f"q={words['model']}+{words['source']}")),
    (f"walk, search ordered by disagreement", lambda: walk(f"q={words['sortable']}&sort=-disagreement")),
    ("no match: each request examines a full window", lambda: repeat(lambda: pages(f"min_judgements=50&after={rng.randrange(max_id)}"))),
    ("a pair's detail", lambda: repeat(lambda: f"/api/projects/{project}/pairs/pair-{rng.randrange(max_id)}")),
    # The export's decision: the first request computes the project's decisions, the rest read them.
    ("a pair's export decision, the first (computes the project's)", lambda: repeat(lambda: f"/api/projects/{project}/pairs/pair-1/decision", 1)),
    ("a pair's export decision, after the first", lambda: repeat(lambda: f"/api/projects/{project}/pairs/pair-{rng.randrange(max_id)}/decision")),
]

results = []
for name, run in scenarios:
    times = sorted(run())
    p = lambda q: times[min(len(times) - 1, int(q * len(times)))]
    results.append({"scenario": name, "requests": len(times), "p50_ms": round(p(0.5), 2), "p99_ms": round(p(0.99), 2), "max_ms": round(times[-1], 2)})
    print(f"  {name:58s} {len(times):4d} req  p50 {p(0.5):7.1f} ms  p99 {p(0.99):7.1f} ms  max {times[-1]:7.1f} ms", flush=True)
every = sorted(t for r in results for t in [r["p99_ms"]])
json.dump(results, open(out, "w"), indent=1)
print(f"  worst scenario p99: {max(r['p99_ms'] for r in results):.1f} ms")
