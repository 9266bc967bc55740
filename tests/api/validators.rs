//! A tool whose params have `<validator>`s and `<sanitizer>`s: a value a validator refuses is a
//! 400 with the validator's message; the sanitizers decide what reaches the command line.

use serde_json::json;

use crate::helpers::{Backend, Opts, TestServer, assert_error, str_field};

both_backends!(validators_refuse_and_sanitizers_render);

fn validators_refuse_and_sanitizers_render(backend: Backend) {
    let opts = Opts::default()
        .file(
            "validator-tools/validators.xml",
            include_str!("../fixtures/tools/validators.xml"),
        )
        .file(
            "validator-tools/tool_conf.xml",
            "<?xml version=\"1.0\"?>\n<toolbox tool_path=\"{TMP}/validator-tools\">\n    \
             <tool file=\"validators.xml\"/>\n</toolbox>\n",
        )
        .tool_config_file("validator-tools/tool_conf.xml");
    let server = TestServer::start(backend, opts);
    let user = server.create_user("validators");
    let key = user.key.as_str();
    let hid = server.create_history(key, "validators");

    for (inputs, expected) in [
        (
            json!({"sample": "bad name;"}),
            "parameter 'sample': a sample name is letters, digits and '_', not 'bad name;'",
        ),
        (
            json!({"count": 5}),
            "parameter 'count': Value ('5') must fulfill (1 <= value < 5)",
        ),
    ] {
        let (status, body) = server.api.post(
            "/api/tools",
            Some(key),
            &json!({"tool_id": "validated_echo", "history_id": hid, "inputs": inputs}),
        );
        assert_error("a value a validator refuses", status, &body, &[400]);
        assert_eq!(
            body["err_msg"].as_str().unwrap_or_default(),
            expected,
            "{body}"
        );
    }

    let run = server.run_tool(
        key,
        &hid,
        "validated_echo",
        json!({"sample": "s_2", "quoted": "don't", "piped": "x|y;z", "plain": "p|q'r", "count": 4}),
    );
    let job = str_field(&run["jobs"][0], "id");
    server.wait_job_ok(key, &job);
    server.assert_dataset(
        key,
        &str_field(&run["outputs"][0], "id"),
        "s_2\ndon't\nx|y_z\npXq__sq__r\n4\n",
    );
}
