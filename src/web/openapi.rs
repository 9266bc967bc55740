//! `/api/openapi.json`: the OpenAPI 3 document of every route, built from one table. A test
//! compares the table with the routes the code registers, so the document stays true.

use actix_web::HttpResponse;
use serde_json::{Map, Value, json};

use super::json::{VERSION_MAJOR, VERSION_MINOR};

/// (method, path, summary, tag, needs an API key)
pub const ROUTES: &[(&str, &str, &str, &str, bool)] = &[
    ("get", "/api/version", "Server version", "meta", false),
    (
        "get",
        "/api/configuration",
        "Public settings",
        "meta",
        false,
    ),
    ("get", "/api/openapi.json", "This document", "meta", false),
    (
        "get",
        "/api/health",
        "Readiness: 200, or 503 while the database is unreachable",
        "meta",
        false,
    ),
    ("get", "/api/users", "Users (admins: all)", "users", true),
    (
        "post",
        "/api/users",
        "Create a user (admin): {email, username, password}",
        "users",
        true,
    ),
    ("get", "/api/users/current", "The caller", "users", true),
    ("get", "/api/users/{id}", "A user", "users", true),
    (
        "post",
        "/api/users/{id}/api_key",
        "Make a new API key for a user",
        "users",
        true,
    ),
    (
        "get",
        "/api/authenticate/baseauth",
        "The caller's API key, for an email (or username) and password in HTTP Basic authentication",
        "authenticate",
        false,
    ),
    ("get", "/api/tools", "Installed tools", "tools", false),
    (
        "post",
        "/api/tools",
        "Run a tool: {tool_id, history_id, inputs}; upload1 pastes a dataset, or (multipart/form-data: tool_id, history_id, inputs as JSON, file part files_0|file_data) uploads a file",
        "tools",
        true,
    ),
    (
        "post",
        "/api/tools/fetch",
        "Galaxy's data fetch: {history_id, targets: [{destination: {type: hdas|hdca}, collection_type, name, elements: [{src: files|pasted|path|url, url, ext, dbkey, name, to_posix_lines, space_to_tab, auto_decompress} or {name, elements: [...]}]}], files_N|file_data: {session_id}}; one finished upload job per target, an hdca target gathered into a new collection",
        "tools",
        true,
    ),
    (
        "get",
        "/api/tools/{id}",
        "A tool; ?io_details=true lists inputs and outputs",
        "tools",
        false,
    ),
    (
        "get",
        "/api/jobs",
        "Jobs: ?state=&tool_id=&history_id=&limit=&offset=&order_by=",
        "jobs",
        true,
    ),
    (
        "get",
        "/api/jobs/summary",
        "How many jobs are in each state",
        "jobs",
        true,
    ),
    (
        "get",
        "/api/jobs/{id}",
        "A job; ?full=true adds stdout, stderr, command line, handler, runner, external id, destination, inputs, outputs, metrics",
        "jobs",
        true,
    ),
    (
        "get",
        "/api/jobs/{id}/metrics",
        "A job's metrics: [{title, value, plugin, name, raw_value}]",
        "jobs",
        true,
    ),
    ("delete", "/api/jobs/{id}", "Cancel a job", "jobs", true),
    (
        "get",
        "/api/jobs/{id}/inputs",
        "A job's input datasets: [{name, dataset: {src, id}}]",
        "jobs",
        true,
    ),
    (
        "get",
        "/api/jobs/{id}/outputs",
        "A job's output datasets: [{name, dataset: {src, id}}]",
        "jobs",
        true,
    ),
    (
        "get",
        "/api/histories/{id}/contents/{content_id}/provenance",
        "The job that created a dataset: {job_id, tool_id, parameters, stdout, stderr}",
        "histories",
        true,
    ),
    (
        "get",
        "/api/tools/tests_summary",
        "Tools with tests: {tool_id: {version: {count}}}",
        "tools",
        false,
    ),
    (
        "get",
        "/api/tools/{id}/test_data",
        "A tool's tests as Galaxy's test dicts (galaxy-tool-test); ?tool_version=",
        "tools",
        false,
    ),
    (
        "get",
        "/api/tools/{id}/test_data_path",
        "Admin: the path of a file of the tool's test-data directory; ?filename=",
        "tools",
        true,
    ),
    (
        "get",
        "/api/tools/{id}/test_data_download",
        "A file of the tool's test-data directory; ?filename=",
        "tools",
        false,
    ),
    (
        "get",
        "/api/histories",
        "Histories; ?deleted=true lists the deleted ones",
        "histories",
        true,
    ),
    (
        "post",
        "/api/histories",
        "Create a history: {name}",
        "histories",
        true,
    ),
    (
        "get",
        "/api/histories/most_recently_used",
        "The most recently used history",
        "histories",
        true,
    ),
    (
        "get",
        "/api/histories/{id}",
        "A history with state and state_ids",
        "histories",
        true,
    ),
    (
        "put",
        "/api/histories/{id}",
        "Update a history: {name, annotation, deleted, purged}",
        "histories",
        true,
    ),
    (
        "delete",
        "/api/histories/{id}",
        "Delete a history; purge (query or JSON body) also removes its datasets' files",
        "histories",
        true,
    ),
    (
        "post",
        "/api/histories/deleted/{id}/undelete",
        "Undelete a history",
        "histories",
        true,
    ),
    (
        "get",
        "/api/histories/{id}/contents",
        "The datasets and collections of a history, in hid order; ?deleted=, ?visible=, ?types=dataset,dataset_collection",
        "histories",
        true,
    ),
    (
        "get",
        "/api/histories/{id}/contents/{content_id}",
        "One dataset of a history",
        "histories",
        true,
    ),
    (
        "put",
        "/api/histories/{id}/contents/{content_id}",
        "Update a dataset: {name, annotation, deleted, visible}",
        "histories",
        true,
    ),
    (
        "delete",
        "/api/histories/{id}/contents/{content_id}",
        "Delete a dataset; purge (query or JSON body) also removes its file",
        "histories",
        true,
    ),
    (
        "get",
        "/api/histories/{id}/contents/{content_id}/display",
        "A dataset's content, as /api/datasets/{id}/display",
        "histories",
        true,
    ),
    (
        "get",
        "/api/datasets",
        "Datasets: ?history_id=&limit=&offset=&order=<field>-asc|dsc&q=&qv= (name, state, extension, visible, deleted, purged)",
        "datasets",
        true,
    ),
    (
        "options",
        "/api/upload/resumable_upload",
        "tus 1.0.0: Tus-Version, Tus-Extension (creation,termination), Tus-Max-Size",
        "uploads",
        false,
    ),
    (
        "post",
        "/api/upload/resumable_upload",
        "tus creation: Upload-Length, Upload-Metadata; 201 with Location",
        "uploads",
        true,
    ),
    (
        "options",
        "/api/upload/resumable_upload/",
        "tus 1.0.0: Tus-Version, Tus-Extension (creation,termination), Tus-Max-Size",
        "uploads",
        false,
    ),
    (
        "post",
        "/api/upload/resumable_upload/",
        "tus creation: Upload-Length, Upload-Metadata; 201 with Location",
        "uploads",
        true,
    ),
    (
        "options",
        "/api/upload/resumable_upload/{session_id}",
        "tus 1.0.0: Tus-Version, Tus-Extension, Tus-Max-Size",
        "uploads",
        false,
    ),
    (
        "head",
        "/api/upload/resumable_upload/{session_id}",
        "A tus upload's Upload-Offset and Upload-Length",
        "uploads",
        true,
    ),
    (
        "patch",
        "/api/upload/resumable_upload/{session_id}",
        "Append to a tus upload (application/offset+octet-stream at Upload-Offset); 204 with the new Upload-Offset",
        "uploads",
        true,
    ),
    (
        "delete",
        "/api/upload/resumable_upload/{session_id}",
        "tus termination: the upload and its bytes are removed",
        "uploads",
        true,
    ),
    (
        "post",
        "/api/histories/{id}/contents",
        "Create a dataset collection (list, paired, list:paired) from the caller's datasets",
        "histories",
        true,
    ),
    (
        "get",
        "/api/histories/{history_id}/contents/dataset_collections/{id}",
        "One dataset collection of a history, with its elements",
        "histories",
        true,
    ),
    (
        "get",
        "/api/dataset_collections/{id}",
        "A dataset collection with its elements",
        "dataset_collections",
        true,
    ),
    (
        "put",
        "/api/histories/{history_id}/contents/dataset_collections/{id}",
        "Update a dataset collection of a history: {name, deleted, visible}",
        "histories",
        true,
    ),
    (
        "delete",
        "/api/histories/{history_id}/contents/dataset_collections/{id}",
        "Delete a dataset collection of a history; ?purge=true purges its datasets",
        "histories",
        true,
    ),
    (
        "get",
        "/api/dataset_collections/{id}/contents/{collection_id}",
        "The elements of a dataset collection or of one of its sub-collections; ?limit=&offset=",
        "dataset_collections",
        true,
    ),
    (
        "get",
        "/api/dataset_collections/{id}/download",
        "The collection's datasets as a zip archive (<name>/<identifier>.<ext>)",
        "dataset_collections",
        true,
    ),
    ("get", "/api/datasets/{id}", "A dataset", "datasets", true),
    (
        "get",
        "/api/datasets/{id}/display",
        "A dataset's content (or X-Accel-Redirect); ?to_ext= as an attachment, ?preview=true the first 1 MB, ?offset=&ck_size= or ?chunk= one chunk as JSON",
        "datasets",
        true,
    ),
    (
        "get",
        "/api/workflows",
        "The caller's workflows; ?show_deleted=true the deleted ones",
        "workflows",
        true,
    ),
    (
        "post",
        "/api/workflows",
        "Import a Galaxy .ga workflow: {workflow} (or the document itself); 400 naming the step for an unknown tool, a missing connection, a cycle or a wrong parameter",
        "workflows",
        true,
    ),
    (
        "post",
        "/api/workflows/upload",
        "Import a Galaxy .ga workflow: {workflow, publish} (BioBlend's import_workflow_dict)",
        "workflows",
        true,
    ),
    (
        "get",
        "/api/workflows/download/{id}",
        "A workflow's .ga document (BioBlend's export_workflow_dict)",
        "workflows",
        true,
    ),
    (
        "get",
        "/api/workflows/{id}",
        "A workflow with its steps and inputs",
        "workflows",
        true,
    ),
    (
        "delete",
        "/api/workflows/{id}",
        "Delete a workflow",
        "workflows",
        true,
    ),
    (
        "get",
        "/api/workflows/{id}/download",
        "A workflow's .ga document; it imports again unchanged",
        "workflows",
        true,
    ),
    (
        "post",
        "/api/workflows/{id}/invocations",
        "Invoke a workflow: {inputs (by step index, label or uuid): {src: hda, id}, parameters: {step or tool id: {param: value}}, replacement_params: {name: value}, history_id | history: \"hist_id=ID\" | history_name}",
        "workflows",
        true,
    ),
    (
        "post",
        "/api/workflows/{id}/usage",
        "Invoke a workflow (Galaxy's older path)",
        "workflows",
        true,
    ),
    (
        "get",
        "/api/workflows/{id}/invocations",
        "A workflow's invocations",
        "workflows",
        true,
    ),
    (
        "get",
        "/api/workflows/{id}/invocations/{invocation_id}",
        "An invocation of a workflow",
        "workflows",
        true,
    ),
    (
        "delete",
        "/api/workflows/{id}/invocations/{invocation_id}",
        "Cancel an invocation of a workflow",
        "workflows",
        true,
    ),
    (
        "get",
        "/api/invocations",
        "Invocations: ?workflow_id=&history_id=&user_id=&limit=&offset=",
        "invocations",
        true,
    ),
    (
        "get",
        "/api/invocations/{id}",
        "An invocation: state (new, ready, scheduled, cancelled, failed), steps with their jobs, inputs, labelled outputs, messages naming failed steps",
        "invocations",
        true,
    ),
    (
        "get",
        "/api/invocations/{id}/jobs_summary",
        "How many of an invocation's jobs are in each state",
        "invocations",
        true,
    ),
    (
        "delete",
        "/api/invocations/{id}",
        "Cancel an invocation and its unfinished jobs",
        "invocations",
        true,
    ),
    (
        "get",
        "/api/handlers",
        "Live processes: pools, tags, heartbeat age, jobs held, invocations held",
        "handlers",
        true,
    ),
    (
        "post",
        "/api/handlers/{name}/drain",
        "Drain a handler (admin)",
        "handlers",
        true,
    ),
    (
        "get",
        "/api/maintenance",
        "The maintenance role's holder and each periodic task's last run",
        "handlers",
        true,
    ),
    ("get", "/metrics", "Prometheus metrics", "meta", false),
    ("get", "/", "The dashboard", "dashboard", false),
    (
        "get",
        "/static/{file}",
        "The dashboard's files",
        "dashboard",
        false,
    ),
];

/// The document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for (method, path, summary, tag, auth) in ROUTES {
        let params: Vec<Value> = path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        let mut op = json!({
            "operationId": format!("{method}_{}", path.trim_start_matches('/').replace(['/', '{', '}', '.'], "_")),
            "summary": summary,
            "tags": [tag],
            "responses": {
                "200": {"description": "OK"},
                "400": {"description": "Bad request", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                "403": {"description": "Forbidden", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                "404": {"description": "Not found", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                "503": {"description": "The database is unreachable; retry after `Retry-After` seconds", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
            },
        });
        if !params.is_empty() {
            op["parameters"] = Value::Array(params);
        }
        if *auth {
            op["security"] = json!([{"ApiKeyHeader": []}, {"ApiKeyQuery": []}]);
        }
        if matches!(*method, "post" | "put") {
            op["requestBody"] = json!({"required": false, "content": {"application/json": {"schema": {"type": "object"}}}});
        }
        let entry = paths.entry(path.to_string()).or_insert_with(|| json!({}));
        entry[*method] = op;
    }
    json!({
        "openapi": "3.0.3",
        "info": {"title": "galaxy-server", "version": format!("{VERSION_MAJOR}.{VERSION_MINOR}"), "description": "Galaxy's API subset, plus handlers and metrics."},
        "paths": paths,
        "components": {
            "securitySchemes": {
                "ApiKeyHeader": {"type": "apiKey", "in": "header", "name": "x-api-key"},
                "ApiKeyQuery": {"type": "apiKey", "in": "query", "name": "key"},
            },
            "schemas": {
                "Error": {"type": "object", "required": ["err_msg", "err_code"], "properties": {"err_msg": {"type": "string"}, "err_code": {"type": "integer"}}},
            },
        },
    })
}

pub async fn serve() -> HttpResponse {
    HttpResponse::Ok().json(document())
}
