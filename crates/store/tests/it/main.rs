//! The store contract suite: every behaviour is written once (`contract`) and run against SQLite always
//! and against PostgreSQL when `TEST_DATABASE_URL` is set (each test in its own schema). Test names
//! start with the backend: `sqlite::…` or `postgres::…`.

// A test crate: helpers outside `#[test]` functions may panic too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod contract;
mod fixtures;
mod harness;
mod setup;

/// One `#[tokio::test]` per contract function for one backend. `store` functions take the
/// `DieselStore`; `db` functions also look below the ports with raw SQL.
macro_rules! backend_tests {
    ($backend:ident, $open:expr; store: [$($store:ident),* $(,)?]; db: [$($db:ident),* $(,)?] $(;)?) => {
        mod $backend {
            $(
                #[tokio::test]
                async fn $store() {
                    if let Some(db) = $open {
                        assert_eq!(db.backend_kind().as_str(), stringify!($backend));
                        crate::contract::$store(&db.store).await;
                    }
                }
            )*
            $(
                #[tokio::test]
                async fn $db() {
                    if let Some(db) = $open {
                        assert_eq!(db.backend_kind().as_str(), stringify!($backend));
                        crate::contract::$db(&db).await;
                    }
                }
            )*
        }
    };
}

macro_rules! contract_suite {
    ($($list:tt)*) => {
        backend_tests!(sqlite, Some(crate::harness::TestDb::sqlite().await); $($list)*);
        #[cfg(feature = "postgres")]
        backend_tests!(postgres, crate::harness::TestDb::postgres().await; $($list)*);
    };
}

contract_suite! {
    store: [
        agent_create_inserts_only_if_missing,
        agent_round_trips_every_character_field,
        agent_save_upserts_and_keeps_created_at,
        agent_list_returns_every_agent,
        agent_update_applies_the_patch,
        agent_update_of_unknown_agent_is_none,
        agent_update_with_invalid_patch_is_invalid_and_changes_nothing,
        agent_concurrent_patches_lose_no_update,
        agent_delete_cascades_through_the_ports,
        server_crud_and_duplicates,
        server_agent_membership_is_idempotent,
        channel_create_get_and_duplicates,
        channel_list_and_update,
        channel_participants_add_and_remove,
        channel_participants_beyond_one_statement,
        channel_delete_cascades_messages_and_participants,
        channel_lookup_by_name_matches_server_type_and_name,
        message_create_is_idempotent_by_id,
        message_pages_are_newest_first,
        message_update_delete_and_clear,
        message_search_matches_text_case_insensitively_and_literally,
        message_search_filters_by_channel_server_and_author,
        message_search_windows_and_pages_newest_first,
        message_replies_are_oldest_first,
        message_filters_accept_times_beyond_the_storable_range,
        nul_in_text_is_invalid_where_the_backend_cannot_hold_it,
        entity_ensure_is_per_agent,
        world_crud,
        room_crud_and_cascades,
        participant_ensure_state_and_errors,
        relationship_upsert_and_listing,
        memory_create_and_get_round_trip,
        memory_list_filters_orders_and_pages,
        memory_update_replaces_content_and_embedding,
        memory_delete_single_and_bulk,
        memory_delete_in_world,
        memory_search_is_exact_cosine,
        memory_embedding_is_set_without_touching_the_content,
        log_create_list_delete,
        log_list_excludes_types_before_paging,
        run_summaries_group_filter_count_and_page,
        run_logs_take_children_and_their_action_events,
        task_create_list_delete,
        cache_set_get_expire_delete,
        store_info_reports_backend_and_pool,
        timestamps_keep_sub_millisecond_precision,
        lease_is_taken_once_renewed_and_taken_over_after_expiry,
        renewal_keeps_only_live_leases_and_release_is_the_owners,
        expiring_a_nodes_leases_hands_them_over,
        leases_and_work_go_with_their_agent,
        work_is_queued_once_in_order_and_finished,
        nodes_register_their_address_and_a_restart_replaces_it,
        approximate_search_matches_exact_on_100k_vectors,
        the_index_follows_memories_stored_and_deleted_after_its_build,
        records_insert_get_swap_and_delete,
        records_list_count_and_purge_by_kind_and_tag,
        records_concurrent_swaps_lose_no_update,
    ];
    db: [
        agent_delete_leaves_no_orphan_rows,
        embeddings_are_removed_with_their_memory,
        corrupt_rows_are_backend_errors,
    ];
}

/// The shared-record contract also holds for the single-node, in-memory implementation.
mod memory_records {
    use eliza_domain::records::MemoryRecords;

    #[tokio::test]
    async fn records_insert_get_swap_and_delete() {
        crate::contract::records_insert_get_swap_and_delete(&MemoryRecords::new()).await;
    }

    #[tokio::test]
    async fn records_list_count_and_purge_by_kind_and_tag() {
        crate::contract::records_list_count_and_purge_by_kind_and_tag(&MemoryRecords::new()).await;
    }

    #[tokio::test]
    async fn records_concurrent_swaps_lose_no_update() {
        crate::contract::records_concurrent_swaps_lose_no_update(&MemoryRecords::new()).await;
    }
}
