DROP TABLE agent_work;
DROP TABLE agent_leases;
