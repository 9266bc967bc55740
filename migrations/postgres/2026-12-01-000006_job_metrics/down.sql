DROP TABLE job_metric_numeric;
