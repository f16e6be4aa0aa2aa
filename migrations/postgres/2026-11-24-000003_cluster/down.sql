DROP INDEX idx_embeddings_created;
DROP TABLE agent_work;
DROP TABLE agent_leases;
