use serde_json::json;

use super::shipped;

#[test]
fn tool_listing_has_galaxys_keys() {
    let toolbox = shipped();
    let cat1 = toolbox.get("cat1").unwrap().to_json(false);
    assert_eq!(cat1["model_class"], "Tool");
    assert_eq!(cat1["id"], "cat1");
    assert_eq!(cat1["name"], "Concatenate datasets");
    assert_eq!(cat1["version"], "1.0.0");
    assert_eq!(cat1["panel_section_id"], "text_manipulation");
    assert_eq!(cat1["panel_section_name"], "Text Manipulation");
    assert_eq!(cat1["link"], "/tool_runner?tool_id=cat1");
    assert_eq!(cat1["form_style"], "regular");
    assert_eq!(cat1["tool_shed_repository"], serde_json::Value::Null);
    assert!(cat1.get("inputs").is_none());
}

#[test]
fn io_details_list_inputs_and_outputs() {
    let toolbox = shipped();
    let sleep = toolbox.get("sleep").unwrap().to_json(true);
    let seconds = &sleep["inputs"][0];
    assert_eq!(seconds["model_class"], "IntegerToolParameter");
    assert_eq!(seconds["name"], "seconds");
    assert_eq!(seconds["type"], "integer");
    assert_eq!(seconds["value"], "1");
    assert_eq!(seconds["min"], 0);
    assert_eq!(seconds["max"], serde_json::Value::Null);
    assert_eq!(seconds["optional"], false);
    assert_eq!(
        sleep["outputs"][0],
        json!({
            "model_class": "ToolOutput", "name": "out_file1", "format": "txt", "label": null,
            "hidden": false, "output_type": "data", "format_source": null, "metadata_source": "",
            "parent": null, "count": 1, "from_work_dir": null, "default_identifier_source": null,
            "discover_datasets": []
        })
    );
    let sort1 = toolbox.get("sort1").unwrap().to_json(true);
    assert_eq!(sort1["inputs"][0]["model_class"], "DataToolParameter");
    assert_eq!(sort1["inputs"][0]["extensions"], json!(["txt"]));
    let order = &sort1["inputs"][1];
    assert_eq!(order["model_class"], "SelectToolParameter");
    assert_eq!(order["value"], "ascending");
    assert_eq!(
        order["options"][1],
        json!(["Descending (Z-A, 9-0)", "descending", false])
    );
    let cat1 = toolbox.get("cat1").unwrap().to_json(true);
    assert_eq!(cat1["inputs"][1]["optional"], true);
}

#[test]
fn boolean_and_text_params() {
    let tool = super::tool(
        r#"<tool id="t" name="T"><command>true</command><inputs>
           <param name="b" type="boolean" checked="yes" truevalue="-a"/>
           <param name="t" type="text" value="v" label="L" help="H"/></inputs></tool>"#,
    );
    let dict = tool.to_json(true);
    assert_eq!(dict["panel_section_id"], serde_json::Value::Null);
    let b = &dict["inputs"][0];
    assert_eq!(b["model_class"], "BooleanToolParameter");
    assert_eq!(b["value"], true);
    assert_eq!(b["truevalue"], "-a");
    assert_eq!(b["falsevalue"], "false");
    let t = &dict["inputs"][1];
    assert_eq!(t["model_class"], "TextToolParameter");
    assert_eq!(
        (&t["value"], &t["label"], &t["help"]),
        (&json!("v"), &json!("L"), &json!("H"))
    );
}
