-- The plugin-sql 1.7.2 schema (runtime spec §5) in portable form: ids are lowercase hyphenated UUID text,
-- times are UTC `TIMESTAMP`s, JSON is text, embeddings are little-endian f32 blobs with their dimension.
-- Deliberate differences from 1.7.2: agents keep templates/secrets/lore/model_provider, entities are keyed
-- per agent, logs carry agent_id and a primary key, one embeddings row per memory, participants are unique per room.

CREATE TABLE agents (
    id TEXT PRIMARY KEY NOT NULL,
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    server_id TEXT,
    created_at TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
    updated_at TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
    name TEXT NOT NULL,
    username TEXT,
    system TEXT,
    bio TEXT NOT NULL DEFAULT '[]',
    message_examples TEXT NOT NULL DEFAULT '[]',
    post_examples TEXT NOT NULL DEFAULT '[]',
    topics TEXT NOT NULL DEFAULT '[]',
    adjectives TEXT NOT NULL DEFAULT '[]',
    knowledge TEXT NOT NULL DEFAULT '[]',
    plugins TEXT NOT NULL DEFAULT '[]',
    settings TEXT NOT NULL DEFAULT '{}',
    style TEXT NOT NULL DEFAULT '{}',
    templates TEXT NOT NULL DEFAULT '{}',
    secrets TEXT NOT NULL DEFAULT '{}',
    lore TEXT,
    model_provider TEXT
);

CREATE TABLE servers (
    id TEXT PRIMARY KEY NOT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
    updated_at TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'utc')
);

CREATE TABLE entities (
    id TEXT NOT NULL,
    agent_id TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
    names TEXT NOT NULL DEFAULT '[]',
    metadata TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (id, agent_id)
);
CREATE INDEX idx_entities_agent ON entities (agent_id);

CREATE TABLE worlds (
    id TEXT PRIMARY KEY NOT NULL,
    agent_id TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    metadata TEXT,
    message_server_id TEXT,
    created_at TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'utc')
);
CREATE INDEX idx_worlds_agent ON worlds (agent_id);

CREATE TABLE rooms (
    id TEXT PRIMARY KEY NOT NULL,
    agent_id TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    source TEXT NOT NULL,
    type TEXT NOT NULL,
    message_server_id TEXT,
    world_id TEXT,
    name TEXT,
    metadata TEXT,
    channel_id TEXT,
    created_at TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'utc')
);
CREATE INDEX idx_rooms_agent ON rooms (agent_id);
CREATE INDEX idx_rooms_world ON rooms (world_id);

CREATE TABLE participants (
    id TEXT PRIMARY KEY NOT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
    entity_id TEXT NOT NULL,
    room_id TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    agent_id TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    room_state TEXT,
    FOREIGN KEY (entity_id, agent_id) REFERENCES entities (id, agent_id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX idx_participants_room_entity ON participants (room_id, entity_id);
CREATE INDEX idx_participants_user ON participants (entity_id, agent_id);
CREATE INDEX idx_participants_agent ON participants (agent_id);

CREATE TABLE memories (
    id TEXT PRIMARY KEY NOT NULL,
    type TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
    content TEXT NOT NULL,
    entity_id TEXT,
    agent_id TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    room_id TEXT REFERENCES rooms (id) ON DELETE CASCADE,
    world_id TEXT,
    "unique" BOOLEAN NOT NULL DEFAULT TRUE,
    metadata TEXT NOT NULL DEFAULT '{}',
    FOREIGN KEY (entity_id, agent_id) REFERENCES entities (id, agent_id) ON DELETE CASCADE
);
CREATE INDEX idx_memories_type_room ON memories (type, room_id);
CREATE INDEX idx_memories_world_id ON memories (world_id);
CREATE INDEX idx_memories_agent_type ON memories (agent_id, type, created_at);
CREATE INDEX idx_memories_entity ON memories (entity_id, agent_id);

CREATE TABLE embeddings (
    memory_id TEXT PRIMARY KEY NOT NULL REFERENCES memories (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
    dim INTEGER NOT NULL,
    vector BYTEA NOT NULL
);

CREATE TABLE components (
    id TEXT PRIMARY KEY NOT NULL,
    entity_id TEXT NOT NULL,
    agent_id TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    room_id TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    world_id TEXT REFERENCES worlds (id) ON DELETE CASCADE,
    source_entity_id TEXT,
    type TEXT NOT NULL,
    data TEXT NOT NULL DEFAULT '{}',
    created_at TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
    FOREIGN KEY (entity_id, agent_id) REFERENCES entities (id, agent_id) ON DELETE CASCADE,
    FOREIGN KEY (source_entity_id, agent_id) REFERENCES entities (id, agent_id) ON DELETE CASCADE
);
CREATE INDEX idx_components_entity ON components (entity_id, agent_id);
CREATE INDEX idx_components_agent ON components (agent_id);
CREATE INDEX idx_components_room ON components (room_id);
CREATE INDEX idx_components_world ON components (world_id);

CREATE TABLE relationships (
    id TEXT PRIMARY KEY NOT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
    source_entity_id TEXT NOT NULL,
    target_entity_id TEXT NOT NULL,
    agent_id TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    tags TEXT NOT NULL DEFAULT '[]',
    metadata TEXT NOT NULL DEFAULT '{}',
    FOREIGN KEY (source_entity_id, agent_id) REFERENCES entities (id, agent_id) ON DELETE CASCADE,
    FOREIGN KEY (target_entity_id, agent_id) REFERENCES entities (id, agent_id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX unique_relationship ON relationships (source_entity_id, target_entity_id, agent_id);
CREATE INDEX idx_relationships_target ON relationships (target_entity_id, agent_id);
CREATE INDEX idx_relationships_agent ON relationships (agent_id);

CREATE TABLE logs (
    id TEXT PRIMARY KEY NOT NULL,
    agent_id TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
    entity_id TEXT NOT NULL,
    room_id TEXT NOT NULL,
    type TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX idx_logs_agent_created ON logs (agent_id, created_at);
CREATE INDEX idx_logs_room ON logs (room_id);

CREATE TABLE cache (
    key TEXT NOT NULL,
    agent_id TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    value TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
    expires_at TIMESTAMP,
    PRIMARY KEY (key, agent_id)
);
CREATE INDEX idx_cache_agent ON cache (agent_id);

CREATE TABLE tasks (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    description TEXT,
    room_id TEXT,
    world_id TEXT,
    entity_id TEXT,
    agent_id TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    tags TEXT NOT NULL DEFAULT '[]',
    metadata TEXT NOT NULL DEFAULT '{}',
    created_at TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
    updated_at TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'utc')
);
CREATE INDEX idx_tasks_agent ON tasks (agent_id);

CREATE TABLE message_servers (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    source_type TEXT NOT NULL,
    source_id TEXT,
    metadata TEXT,
    created_at TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
    updated_at TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'utc')
);

CREATE TABLE channels (
    id TEXT PRIMARY KEY NOT NULL,
    message_server_id TEXT NOT NULL REFERENCES message_servers (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    source_type TEXT,
    source_id TEXT,
    topic TEXT,
    metadata TEXT,
    created_at TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
    updated_at TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'utc')
);
CREATE INDEX idx_channels_server ON channels (message_server_id, type);

CREATE TABLE central_messages (
    id TEXT PRIMARY KEY NOT NULL,
    channel_id TEXT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    author_id TEXT NOT NULL,
    content TEXT NOT NULL,
    raw_message TEXT,
    in_reply_to_root_message_id TEXT REFERENCES central_messages (id) ON DELETE SET NULL,
    source_type TEXT,
    source_id TEXT,
    metadata TEXT,
    created_at TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
    updated_at TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'utc')
);
CREATE INDEX idx_central_messages_channel_created ON central_messages (channel_id, created_at);
CREATE INDEX idx_central_messages_reply ON central_messages (in_reply_to_root_message_id);

CREATE TABLE channel_participants (
    channel_id TEXT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    entity_id TEXT NOT NULL,
    PRIMARY KEY (channel_id, entity_id)
);
CREATE INDEX idx_channel_participants_entity ON channel_participants (entity_id);

CREATE TABLE message_server_agents (
    message_server_id TEXT NOT NULL REFERENCES message_servers (id) ON DELETE CASCADE,
    agent_id TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    PRIMARY KEY (message_server_id, agent_id)
);
CREATE INDEX idx_message_server_agents_agent ON message_server_agents (agent_id);
