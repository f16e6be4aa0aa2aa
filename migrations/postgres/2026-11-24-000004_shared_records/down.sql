DROP TABLE cluster_nodes;
DROP TABLE shared_records;
