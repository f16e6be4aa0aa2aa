DROP TABLE shared_records;
