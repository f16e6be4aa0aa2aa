//! The one hand-written schema shared by both backends: only types `MultiConnection` supports
//! (`Text` ids and JSON, `Timestamp` in UTC, `Bool`, `Integer`, `Binary`), so the same query code runs on both.

diesel::table! {
    agents (id) {
        id -> Text,
        enabled -> Bool,
        server_id -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        name -> Text,
        username -> Nullable<Text>,
        system -> Nullable<Text>,
        bio -> Text,
        message_examples -> Text,
        post_examples -> Text,
        topics -> Text,
        adjectives -> Text,
        knowledge -> Text,
        plugins -> Text,
        settings -> Text,
        style -> Text,
        templates -> Text,
        secrets -> Text,
        lore -> Nullable<Text>,
        model_provider -> Nullable<Text>,
    }
}

diesel::table! {
    entities (id, agent_id) {
        id -> Text,
        agent_id -> Text,
        created_at -> Timestamp,
        names -> Text,
        metadata -> Text,
    }
}

diesel::table! {
    worlds (id) {
        id -> Text,
        agent_id -> Text,
        name -> Text,
        metadata -> Nullable<Text>,
        message_server_id -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    rooms (id) {
        id -> Text,
        agent_id -> Text,
        source -> Text,
        #[sql_name = "type"]
        room_type -> Text,
        message_server_id -> Nullable<Text>,
        world_id -> Nullable<Text>,
        name -> Nullable<Text>,
        metadata -> Nullable<Text>,
        channel_id -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    participants (id) {
        id -> Text,
        created_at -> Timestamp,
        entity_id -> Text,
        room_id -> Text,
        agent_id -> Text,
        room_state -> Nullable<Text>,
    }
}

diesel::table! {
    memories (id) {
        id -> Text,
        #[sql_name = "type"]
        memory_type -> Text,
        created_at -> Timestamp,
        content -> Text,
        entity_id -> Nullable<Text>,
        agent_id -> Text,
        room_id -> Nullable<Text>,
        world_id -> Nullable<Text>,
        #[sql_name = "unique"]
        is_unique -> Bool,
        metadata -> Text,
    }
}

diesel::table! {
    embeddings (memory_id) {
        memory_id -> Text,
        created_at -> Timestamp,
        dim -> Integer,
        vector -> Binary,
    }
}

diesel::table! {
    relationships (id) {
        id -> Text,
        created_at -> Timestamp,
        source_entity_id -> Text,
        target_entity_id -> Text,
        agent_id -> Text,
        tags -> Text,
        metadata -> Text,
    }
}

diesel::table! {
    logs (id) {
        id -> Text,
        agent_id -> Text,
        created_at -> Timestamp,
        entity_id -> Text,
        room_id -> Text,
        #[sql_name = "type"]
        log_type -> Text,
        body -> Text,
    }
}

diesel::table! {
    cache (key, agent_id) {
        key -> Text,
        agent_id -> Text,
        value -> Text,
        created_at -> Timestamp,
        expires_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    tasks (id) {
        id -> Text,
        name -> Text,
        description -> Nullable<Text>,
        room_id -> Nullable<Text>,
        world_id -> Nullable<Text>,
        entity_id -> Nullable<Text>,
        agent_id -> Text,
        tags -> Text,
        metadata -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    message_servers (id) {
        id -> Text,
        name -> Text,
        source_type -> Text,
        source_id -> Nullable<Text>,
        metadata -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    channels (id) {
        id -> Text,
        message_server_id -> Text,
        name -> Text,
        #[sql_name = "type"]
        channel_type -> Text,
        source_type -> Nullable<Text>,
        source_id -> Nullable<Text>,
        topic -> Nullable<Text>,
        metadata -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    central_messages (id) {
        id -> Text,
        channel_id -> Text,
        author_id -> Text,
        content -> Text,
        raw_message -> Nullable<Text>,
        in_reply_to_root_message_id -> Nullable<Text>,
        source_type -> Nullable<Text>,
        source_id -> Nullable<Text>,
        metadata -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    channel_participants (channel_id, entity_id) {
        channel_id -> Text,
        entity_id -> Text,
    }
}

diesel::table! {
    message_server_agents (message_server_id, agent_id) {
        message_server_id -> Text,
        agent_id -> Text,
    }
}

diesel::table! {
    agent_leases (agent_id) {
        agent_id -> Text,
        node_id -> Text,
        epoch -> BigInt,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    agent_work (agent_id, work_key) {
        agent_id -> Text,
        work_key -> Text,
        payload -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(embeddings -> memories (memory_id));
diesel::joinable!(central_messages -> channels (channel_id));

diesel::allow_tables_to_appear_in_same_query!(memories, embeddings);
diesel::allow_tables_to_appear_in_same_query!(channels, channel_participants);
diesel::allow_tables_to_appear_in_same_query!(central_messages, channels);

diesel::table! {
    shared_records (kind, id) {
        kind -> Text,
        id -> Text,
        tag -> Text,
        body -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        purge_at -> Timestamp,
    }
}

diesel::table! {
    cluster_nodes (node_id) {
        node_id -> Text,
        http_url -> Text,
        registered_at -> Timestamp,
    }
}
