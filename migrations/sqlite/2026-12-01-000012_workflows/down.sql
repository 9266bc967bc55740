DROP TABLE workflow_invocation_step;
DROP TABLE workflow_invocation;
DROP TABLE workflow;
