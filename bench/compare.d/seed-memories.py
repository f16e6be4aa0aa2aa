"""Fills our SQLite database with `count` message memories of one agent, each with a random unit
384-dimension embedding, for the memory-search row. The server must be stopped. Every new memory
copies the room, entity and world of an existing memory of the agent, so all foreign keys hold.

Usage: seed-memories.py DB AGENT_ID COUNT DIMS SEED"""

import json
import random
import sqlite3
import struct
import sys
import uuid


def unit_vector(rng, dims):
    values = [rng.gauss(0.0, 1.0) for _ in range(dims)]
    norm = sum(v * v for v in values) ** 0.5
    return struct.pack(f"<{dims}f", *(v / norm for v in values))


def main():
    db, agent, count, dims, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    rng = random.Random(seed)
    conn = sqlite3.connect(db)
    template = conn.execute(
        "SELECT type, entity_id, room_id, world_id FROM memories WHERE agent_id = ? AND type = 'messages' LIMIT 1",
        (agent,),
    ).fetchone()
    if template is None:
        sys.exit(f"no message memory of agent {agent} in {db}: post a message first")
    kind, entity, room, world = template
    with conn:
        for i in range(count):
            memory = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            content = json.dumps({"text": f"stored memory {i}", "source": "bench"})
            conn.execute(
                "INSERT INTO memories (id, type, content, entity_id, agent_id, room_id, world_id, \"unique\", metadata)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?)",
                (memory, kind, content, entity, agent, room, world, json.dumps({"type": "message"})),
            )
            conn.execute(
                "INSERT INTO embeddings (memory_id, dim, vector) VALUES (?, ?, ?)",
                (memory, dims, unit_vector(rng, dims)),
            )
    total = conn.execute("SELECT count(*) FROM memories WHERE agent_id = ?", (agent,)).fetchone()[0]
    print(total)


if __name__ == "__main__":
    main()
