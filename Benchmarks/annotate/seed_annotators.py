#!/usr/bin/env python3
"""Add N annotators with API tokens straight into an Arbiter database (benchmark
set-up only); print the tokens, one per line. Tokens are stored as SHA-256."""
import hashlib
import secrets
import sqlite3
import sys

path, count = sys.argv[1], int(sys.argv[2])
db = sqlite3.connect(path)
tokens = []
with db:
    for i in range(count):
        cursor = db.execute("INSERT INTO users (username, role) VALUES (?, 'annotator')", (f"bench-annotator-{i}",))
        token = "arb_" + secrets.token_urlsafe(32)
        db.execute("INSERT INTO api_tokens (user_id, token_hash, label) VALUES (?, ?, 'bench')",
                   (cursor.lastrowid, hashlib.sha256(token.encode()).digest()))
        tokens.append(token)
print("\n".join(tokens))
