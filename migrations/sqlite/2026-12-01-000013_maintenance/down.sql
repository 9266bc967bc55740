DROP TABLE maintenance_task;
DROP TABLE maintenance_lease;
