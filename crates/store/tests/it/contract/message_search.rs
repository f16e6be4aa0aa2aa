//! MessageStore: text search over central messages and the replies to a message.

use super::{message_ids as ids, server_with_channel};
use crate::fixtures as fx;
use chrono::{DateTime, Utc};
use eliza_domain::messaging::{CentralMessage, ChannelType, MessagePage, MessageSearch};
use eliza_domain::store::{ChannelStore, MessageStore};
use eliza_domain::{ChannelId, MessageId, MessageServerId, StoreError};
use eliza_store::{Backend, DieselStore};

/// A search for `text` with no filter and room for every hit.
fn search(text: &str) -> MessageSearch {
    MessageSearch {
        text: text.to_owned(),
        channel: None,
        server: None,
        author: None,
        before: None,
        after: None,
        limit: 100,
        offset: 0,
    }
}

/// Stores a message with this content, author and time.
async fn post(
    store: &DieselStore,
    channel: ChannelId,
    content: &str,
    author: &str,
    at: DateTime<Utc>,
) -> CentralMessage {
    let mut message = fx::message(channel, at);
    message.content = content.to_owned();
    message.author_id = author.to_owned();
    store.create_message(&message).await.unwrap()
}

/// The messages as the search orders them: `created_at DESC, id DESC`.
fn newest_first(mut messages: Vec<CentralMessage>) -> Vec<MessageId> {
    fx::newest_first(&mut messages, |m| (m.created_at, m.id.to_string()));
    ids(&messages)
}

pub async fn message_search_matches_text_case_insensitively_and_literally(store: &DieselStore) {
    let (_, channel) = server_with_channel(store).await;
    let contents = [
        "Hello World",
        "they said HELLO twice",
        "goodbye",
        "100% sure",
        "100 percent",
        "snake_case",
        "snakeXcase",
        r"C:\Temp",
        "C:Temp",
    ];
    let mut stored = Vec::new();
    for (i, content) in contents.into_iter().enumerate() {
        let at = fx::t(10 * i64::try_from(i).unwrap());
        stored.push(post(store, channel.id, content, "author", at).await);
    }
    let found = |text: &'static str| {
        let query = search(text);
        async move { ids(&store.search_messages(&query).await.unwrap()) }
    };
    // Case-insensitive both ways, newest first.
    assert_eq!(found("hello").await, vec![stored[1].id, stored[0].id]);
    assert_eq!(found("HeLLo wOrLd").await, vec![stored[0].id]);
    // LIKE wildcards and the escape character in the text are matched literally.
    assert_eq!(found("%").await, vec![stored[3].id]);
    assert_eq!(found("100%").await, vec![stored[3].id]);
    assert_eq!(found("e_c").await, vec![stored[5].id]);
    assert_eq!(found("_").await, vec![stored[5].id]);
    assert_eq!(found(r"\").await, vec![stored[7].id]);
    assert_eq!(found(r"c:\t").await, vec![stored[7].id]);
    assert_eq!(found("c:t").await, vec![stored[8].id]);
    assert!(found("nowhere").await.is_empty());
    // An empty text lists every message (the other filters still apply).
    assert_eq!(found("").await.len(), stored.len());
}

pub async fn message_search_filters_by_channel_server_and_author(store: &DieselStore) {
    let (server, first) = server_with_channel(store).await;
    let second = fx::channel(server, ChannelType::Dm);
    store.create_channel(&second, &[]).await.unwrap();
    let (other_server, elsewhere) = server_with_channel(store).await;
    let (alice, bob) = ("alice", "bob");
    let a1 = post(store, first.id, "needle one", alice, fx::t(10)).await;
    let b1 = post(store, first.id, "needle two", bob, fx::t(20)).await;
    let a2 = post(store, second.id, "needle three", alice, fx::t(30)).await;
    let b3 = post(store, elsewhere.id, "needle four", bob, fx::t(40)).await;
    post(store, first.id, "haystack", alice, fx::t(50)).await;

    let run =
        |query: MessageSearch| async move { ids(&store.search_messages(&query).await.unwrap()) };
    assert_eq!(
        run(search("needle")).await,
        vec![b3.id, a2.id, b1.id, a1.id]
    );
    assert_eq!(
        run(MessageSearch {
            channel: Some(first.id),
            ..search("needle")
        })
        .await,
        vec![b1.id, a1.id]
    );
    assert_eq!(
        run(MessageSearch {
            server: Some(server),
            ..search("needle")
        })
        .await,
        vec![a2.id, b1.id, a1.id]
    );
    assert_eq!(
        run(MessageSearch {
            server: Some(other_server),
            ..search("needle")
        })
        .await,
        vec![b3.id]
    );
    assert_eq!(
        run(MessageSearch {
            author: Some(bob.to_owned()),
            ..search("needle")
        })
        .await,
        vec![b3.id, b1.id]
    );
    assert_eq!(
        run(MessageSearch {
            server: Some(server),
            author: Some(bob.to_owned()),
            ..search("needle")
        })
        .await,
        vec![b1.id]
    );
    assert_eq!(
        run(MessageSearch {
            channel: Some(second.id),
            author: Some(alice.to_owned()),
            ..search("NEEDLE")
        })
        .await,
        vec![a2.id]
    );
    // Filters that contradict each other, or name nothing, find nothing.
    assert!(
        run(MessageSearch {
            channel: Some(elsewhere.id),
            server: Some(server),
            ..search("needle")
        })
        .await
        .is_empty()
    );
    assert!(
        run(MessageSearch {
            server: Some(MessageServerId::new_random()),
            ..search("needle")
        })
        .await
        .is_empty()
    );
    assert!(
        run(MessageSearch {
            author: Some("carol".to_owned()),
            ..search("needle")
        })
        .await
        .is_empty()
    );
}

pub async fn message_search_windows_and_pages_newest_first(store: &DieselStore) {
    let (_, channel) = server_with_channel(store).await;
    let mut stored = Vec::new();
    for ms in [10, 20, 30, 30, 40, 50] {
        stored.push(post(store, channel.id, "match", "a", fx::t(ms)).await);
    }
    post(store, channel.id, "other", "a", fx::t(35)).await;
    // created_at DESC, then id DESC among equal times: t50, t40, t30, t30, t20, t10.
    let all = newest_first(stored);
    let run =
        |query: MessageSearch| async move { ids(&store.search_messages(&query).await.unwrap()) };
    assert_eq!(run(search("match")).await, all);
    assert_eq!(
        run(MessageSearch {
            before: Some(fx::t(40)),
            ..search("match")
        })
        .await,
        all[2..].to_vec(),
        "before is strict"
    );
    assert_eq!(
        run(MessageSearch {
            after: Some(fx::t(20)),
            ..search("match")
        })
        .await,
        all[..4].to_vec(),
        "after is strict"
    );
    assert_eq!(
        run(MessageSearch {
            before: Some(fx::t(50)),
            after: Some(fx::t(10)),
            ..search("match")
        })
        .await,
        all[1..5].to_vec()
    );
    assert!(
        run(MessageSearch {
            before: Some(fx::t(10)),
            ..search("match")
        })
        .await
        .is_empty()
    );
    let page = |offset: u32, limit: u32| {
        run(MessageSearch {
            limit,
            offset,
            ..search("match")
        })
    };
    assert_eq!(page(0, 2).await, all[..2].to_vec());
    assert_eq!(page(2, 2).await, all[2..4].to_vec());
    assert_eq!(page(4, 10).await, all[4..].to_vec());
    assert!(page(6, 10).await.is_empty());
    assert!(page(0, 0).await.is_empty());
    assert_eq!(
        run(MessageSearch {
            after: Some(fx::t(10)),
            limit: 2,
            offset: 1,
            ..search("match")
        })
        .await,
        all[1..3].to_vec(),
        "paging applies after the filters"
    );
}

pub async fn message_replies_are_oldest_first(store: &DieselStore) {
    let (_, channel) = server_with_channel(store).await;
    let root = post(store, channel.id, "root", "a", fx::t(1)).await;
    let other_root = post(store, channel.id, "other root", "a", fx::t(2)).await;
    let mut replies = Vec::new();
    for ms in [30, 10, 20, 20] {
        let mut reply = fx::message(channel.id, fx::t(ms));
        reply.in_reply_to_root_message_id = Some(root.id);
        replies.push(store.create_message(&reply).await.unwrap());
    }
    let mut elsewhere = fx::message(channel.id, fx::t(15));
    elsewhere.in_reply_to_root_message_id = Some(other_root.id);
    store.create_message(&elsewhere).await.unwrap();
    post(store, channel.id, "not a reply", "a", fx::t(25)).await;

    // created_at ASC, then id ASC among equal times.
    replies.sort_by_key(|m| (m.created_at, m.id.to_string()));
    let listed = store.list_replies(root.id).await.unwrap();
    assert_eq!(listed, replies, "whole messages, oldest first");
    assert_eq!(
        ids(&store.list_replies(other_root.id).await.unwrap()),
        vec![elsewhere.id]
    );
    assert!(store.list_replies(replies[0].id).await.unwrap().is_empty());
    assert!(
        store
            .list_replies(MessageId::new_random())
            .await
            .unwrap()
            .is_empty()
    );
}

/// Filter times outside what a backend can store (PostgreSQL stops at 4713 BC, SQLite's text times
/// sort only within years 0–9999) still filter: nothing is older than the far past or newer than the
/// far future.
pub async fn message_filters_accept_times_beyond_the_storable_range(store: &DieselStore) {
    let (server, channel) = server_with_channel(store).await;
    let message = post(store, channel.id, "match", "a", fx::t(10)).await;
    let (past, future) = (DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC);
    let page = |before| async move {
        let page = MessagePage { before, limit: 10 };
        ids(&store.list_channel_messages(channel.id, page).await.unwrap())
    };
    assert!(page(Some(past)).await.is_empty());
    assert_eq!(page(Some(future)).await, vec![message.id]);
    let run =
        |query: MessageSearch| async move { ids(&store.search_messages(&query).await.unwrap()) };
    let window = |before, after| MessageSearch {
        server: Some(server),
        before,
        after,
        ..search("match")
    };
    assert!(run(window(Some(past), None)).await.is_empty());
    assert_eq!(run(window(Some(future), None)).await, vec![message.id]);
    assert_eq!(run(window(None, Some(past))).await, vec![message.id]);
    assert!(run(window(None, Some(future))).await.is_empty());
}

/// PostgreSQL cannot hold NUL in text: a NUL that reaches it, stored or only compared, is the caller's
/// bad input (`Invalid`), never a `Backend` error. SQLite stores and compares it like any character.
pub async fn nul_in_text_is_invalid_where_the_backend_cannot_hold_it(store: &DieselStore) {
    let (_, channel) = server_with_channel(store).await;
    let mut message = fx::message(channel.id, fx::t(1));
    message.content = "a\0b".to_owned();
    let created = store.create_message(&message).await;
    let found = store.search_messages(&search("\0")).await;
    match store.backend_kind() {
        Backend::Postgres => {
            for err in [created.map(drop), found.map(drop)] {
                assert!(
                    matches!(&err, Err(StoreError::Invalid(m)) if m.contains("cannot store")),
                    "{err:?}"
                );
            }
        }
        Backend::Sqlite => {
            assert_eq!(created.unwrap(), message);
            assert_eq!(ids(&found.unwrap()), vec![message.id]);
        }
    }
}
