-- The messaging API's sessions and jobs, kept in the database so that every node of a cluster
-- serves them. Bodies are JSON written by the HTTP layer; `version` makes every change a
-- compare-and-swap, `tag` (a job's status) and `purge_at` are what lists, counts and clean-ups read.
CREATE TABLE shared_records (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    tag TEXT NOT NULL,
    body TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    purge_at TIMESTAMP NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE INDEX idx_shared_records_created ON shared_records (kind, created_at, id);
CREATE INDEX idx_shared_records_tag ON shared_records (kind, tag, created_at, id);
CREATE INDEX idx_shared_records_purge ON shared_records (kind, purge_at);

-- Where each cluster node serves HTTP, so a node can forward a request that needs an agent's live
-- runtime to the node that owns the agent. A restarted node at the same address replaces its row.
CREATE TABLE cluster_nodes (
    node_id TEXT PRIMARY KEY NOT NULL,
    http_url TEXT NOT NULL,
    registered_at TIMESTAMP NOT NULL
);
CREATE INDEX idx_cluster_nodes_url ON cluster_nodes (http_url);
