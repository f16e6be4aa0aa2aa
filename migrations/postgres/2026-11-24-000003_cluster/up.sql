-- Several nodes on one database: one lease per running agent (who owns it, until when, under which
-- fencing epoch), the durable queue of work waiting for an agent's owner, and an index that lets a
-- node's vector index find the embeddings written since it last looked.
CREATE TABLE agent_leases (
    agent_id TEXT PRIMARY KEY NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    node_id TEXT NOT NULL,
    epoch BIGINT NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX idx_agent_leases_node ON agent_leases (node_id);

CREATE TABLE agent_work (
    agent_id TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    work_key TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (agent_id, work_key)
);
CREATE INDEX idx_agent_work_created ON agent_work (agent_id, created_at);

CREATE INDEX idx_embeddings_created ON embeddings (created_at);
