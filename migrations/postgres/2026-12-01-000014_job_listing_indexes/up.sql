-- Listing a history's jobs costs what the answer holds, not what the history holds:
-- `GET /api/jobs?history_id=H&state=…` goes through (history_id, state), and the listing in
-- update_time order (with a limit) walks (history_id, update_time, id) backwards. The latter
-- replaces ix_job_history_id, of which it is an extension.
CREATE INDEX ix_job_history_state ON job(history_id, state);
CREATE INDEX ix_job_history_update ON job(history_id, update_time, id);
DROP INDEX ix_job_history_id;
