// One schema for both backends; the migrations under migrations/{postgres,sqlite} match it.

diesel::table! {
    galaxy_user (id) {
        id -> BigInt,
        email -> Text,
        username -> Text,
        password -> Text,
        deleted -> Bool,
        create_time -> Timestamp,
        update_time -> Timestamp,
    }
}

diesel::table! {
    api_keys (id) {
        id -> BigInt,
        user_id -> BigInt,
        key -> Text,
        deleted -> Bool,
        create_time -> Timestamp,
    }
}

diesel::table! {
    history (id) {
        id -> BigInt,
        user_id -> Nullable<BigInt>,
        name -> Text,
        hid_counter -> BigInt,
        deleted -> Bool,
        create_time -> Timestamp,
        update_time -> Timestamp,
        annotation -> Nullable<Text>,
        purged -> Bool,
    }
}

diesel::table! {
    dataset (id) {
        id -> BigInt,
        history_id -> BigInt,
        user_id -> Nullable<BigInt>,
        hid -> BigInt,
        name -> Text,
        state -> Text,
        extension -> Text,
        file_size -> BigInt,
        creating_job_id -> Nullable<BigInt>,
        info -> Nullable<Text>,
        deleted -> Bool,
        create_time -> Timestamp,
        update_time -> Timestamp,
        annotation -> Nullable<Text>,
        visible -> Bool,
        purged -> Bool,
        metadata -> Nullable<Text>,
    }
}

diesel::table! {
    job (id) {
        id -> BigInt,
        user_id -> Nullable<BigInt>,
        history_id -> BigInt,
        tool_id -> Text,
        tool_version -> Text,
        state -> Text,
        handler -> Nullable<Text>,
        claim_token -> BigInt,
        params -> Text,
        command_line -> Nullable<Text>,
        stdout -> Nullable<Text>,
        stderr -> Nullable<Text>,
        exit_code -> Nullable<Integer>,
        info -> Nullable<Text>,
        job_runner_name -> Nullable<Text>,
        job_runner_external_id -> Nullable<Text>,
        destination_id -> Nullable<Text>,
        client_address -> Nullable<Text>,
        create_time -> Timestamp,
        update_time -> Timestamp,
        handler_tag -> Nullable<Text>,
        inputs_ready -> Bool,
        attempt -> Integer,
    }
}

diesel::table! {
    job_state_history (id) {
        id -> BigInt,
        job_id -> BigInt,
        state -> Text,
        handler -> Nullable<Text>,
        create_time -> Timestamp,
        info -> Nullable<Text>,
    }
}

diesel::table! {
    job_metric_numeric (id) {
        id -> BigInt,
        job_id -> BigInt,
        plugin -> Text,
        metric_name -> Text,
        metric_value -> Double,
    }
}

diesel::table! {
    job_to_input_dataset (id) {
        id -> BigInt,
        job_id -> BigInt,
        dataset_id -> BigInt,
        name -> Text,
    }
}

diesel::table! {
    job_to_output_dataset (id) {
        id -> BigInt,
        job_id -> BigInt,
        dataset_id -> BigInt,
        name -> Text,
    }
}

diesel::table! {
    worker_process (id) {
        id -> BigInt,
        server_name -> Text,
        hostname -> Text,
        pid -> Integer,
        mode -> Text,
        pools -> Text,
        start_time -> Timestamp,
        update_time -> Timestamp,
        draining -> Bool,
    }
}

diesel::table! {
    dataset_collection (id) {
        id -> BigInt,
        collection_type -> Text,
        populated_state -> Text,
        element_count -> BigInt,
        create_time -> Timestamp,
        update_time -> Timestamp,
    }
}

diesel::table! {
    dataset_collection_element (id) {
        id -> BigInt,
        dataset_collection_id -> BigInt,
        element_index -> Integer,
        element_identifier -> Text,
        hda_id -> Nullable<BigInt>,
        child_collection_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    history_dataset_collection (id) {
        id -> BigInt,
        history_id -> BigInt,
        user_id -> Nullable<BigInt>,
        hid -> BigInt,
        name -> Text,
        collection_id -> BigInt,
        deleted -> Bool,
        visible -> Bool,
        implicit_output_name -> Nullable<Text>,
        create_time -> Timestamp,
        update_time -> Timestamp,
    }
}

diesel::table! {
    maintenance_lease (name) {
        name -> Text,
        holder -> Nullable<Text>,
        hostname -> Nullable<Text>,
        pid -> Nullable<Integer>,
        token -> BigInt,
        acquired_at -> Nullable<Timestamp>,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    workflow (id) {
        id -> BigInt,
        user_id -> Nullable<BigInt>,
        name -> Text,
        uuid -> Text,
        annotation -> Nullable<Text>,
        definition -> Text,
        step_count -> Integer,
        deleted -> Bool,
        create_time -> Timestamp,
        update_time -> Timestamp,
    }
}

diesel::table! {
    maintenance_task (name) {
        name -> Text,
        last_run_at -> Nullable<Timestamp>,
        last_token -> Nullable<BigInt>,
        last_holder -> Nullable<Text>,
        runs -> BigInt,
    }
}

diesel::table! {
    workflow_invocation (id) {
        id -> BigInt,
        workflow_id -> BigInt,
        user_id -> Nullable<BigInt>,
        history_id -> BigInt,
        uuid -> Text,
        state -> Text,
        handler -> Nullable<Text>,
        pool -> Text,
        claim_token -> BigInt,
        inputs -> Text,
        parameters -> Text,
        info -> Nullable<Text>,
        create_time -> Timestamp,
        update_time -> Timestamp,
    }
}

diesel::table! {
    workflow_invocation_step (id) {
        id -> BigInt,
        invocation_id -> BigInt,
        order_index -> Integer,
        job_id -> Nullable<BigInt>,
        dataset_id -> Nullable<BigInt>,
        create_time -> Timestamp,
    }
}

diesel::joinable!(api_keys -> galaxy_user (user_id));
diesel::joinable!(dataset -> history (history_id));
diesel::joinable!(job_to_input_dataset -> dataset (dataset_id));
diesel::joinable!(job_to_output_dataset -> dataset (dataset_id));

diesel::allow_tables_to_appear_in_same_query!(
    galaxy_user,
    api_keys,
    history,
    dataset,
    job,
    job_state_history,
    job_metric_numeric,
    job_to_input_dataset,
    job_to_output_dataset,
    worker_process,
    dataset_collection,
    dataset_collection_element,
    history_dataset_collection,
    maintenance_lease,
    maintenance_task,
    workflow,
    workflow_invocation,
    workflow_invocation_step,
);
