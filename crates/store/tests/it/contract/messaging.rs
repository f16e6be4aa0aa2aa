//! MessageServerStore, ChannelStore and MessageStore.

use super::{assert_conflict, message_ids, new_server, server_with_channel};
use crate::fixtures as fx;
use eliza_domain::messaging::{Channel, ChannelType, ChannelUpdate, MessagePage};
use eliza_domain::store::{AgentStore, ChannelStore, MessageServerStore, MessageStore};
use eliza_domain::{AgentId, ChannelId, MessageId, MessageServerId};
use eliza_store::DieselStore;
use serde_json::json;

pub async fn server_crud_and_duplicates(store: &DieselStore) {
    let server = fx::server("Default Server");
    assert_eq!(store.create_message_server(&server).await.unwrap(), server);
    assert_conflict(store.create_message_server(&server).await);
    assert_eq!(
        store.get_message_server(server.id).await.unwrap(),
        Some(server.clone())
    );
    assert_eq!(
        store
            .get_message_server(MessageServerId::new_random())
            .await
            .unwrap(),
        None
    );
    let second = fx::server("Second");
    store.create_message_server(&second).await.unwrap();
    assert_eq!(store.list_message_servers().await.unwrap().len(), 2);

    let mut changed = server.clone();
    changed.name = "Renamed".into();
    changed.source_id = Some("src".into());
    changed.metadata = None;
    changed.created_at = fx::t(50);
    changed.updated_at = fx::t(60);
    assert!(store.update_message_server(&changed).await.unwrap());
    let stored = store.get_message_server(server.id).await.unwrap().unwrap();
    assert_eq!(stored.name, "Renamed");
    assert_eq!(stored.source_id.as_deref(), Some("src"));
    assert_eq!(stored.metadata, None);
    assert_eq!(stored.created_at, server.created_at, "created_at is kept");
    assert_eq!(stored.updated_at, fx::t(60));
    let mut unknown = fx::server("Nope");
    unknown.id = MessageServerId::new_random();
    assert!(!store.update_message_server(&unknown).await.unwrap());

    assert!(store.delete_message_server(server.id).await.unwrap());
    assert!(!store.delete_message_server(server.id).await.unwrap());
    assert_eq!(store.get_message_server(server.id).await.unwrap(), None);
}

pub async fn server_agent_membership_is_idempotent(store: &DieselStore) {
    let server = new_server(store, "S").await;
    let (a, b) = (fx::agent("A"), fx::agent("B"));
    store.create_agent(&a).await.unwrap();
    store.create_agent(&b).await.unwrap();
    store.add_agent_to_server(server.id, a.id).await.unwrap();
    store.add_agent_to_server(server.id, a.id).await.unwrap();
    store.add_agent_to_server(server.id, b.id).await.unwrap();
    let mut expected = vec![a.id, b.id];
    expected.sort();
    assert_eq!(store.list_server_agents(server.id).await.unwrap(), expected);
    assert_eq!(
        store.list_agent_servers(a.id).await.unwrap(),
        vec![server.id]
    );
    assert_conflict(
        store
            .add_agent_to_server(server.id, AgentId::new_random())
            .await,
    );
    assert_conflict(
        store
            .add_agent_to_server(MessageServerId::new_random(), a.id)
            .await,
    );
    assert!(
        store
            .remove_agent_from_server(server.id, a.id)
            .await
            .unwrap()
    );
    assert!(
        !store
            .remove_agent_from_server(server.id, a.id)
            .await
            .unwrap()
    );
    assert_eq!(
        store.list_server_agents(server.id).await.unwrap(),
        vec![b.id]
    );
    store.delete_message_server(server.id).await.unwrap();
    assert!(store.list_agent_servers(b.id).await.unwrap().is_empty());
}

pub async fn channel_create_get_and_duplicates(store: &DieselStore) {
    let server = new_server(store, "S").await;
    let channel = fx::channel(server.id, ChannelType::Group);
    let participants = vec![
        "b-user".to_owned(),
        "a-user".to_owned(),
        "a-user".to_owned(),
    ];
    assert_eq!(
        store.create_channel(&channel, &participants).await.unwrap(),
        channel
    );
    assert_eq!(
        store.get_channel(channel.id).await.unwrap(),
        Some(channel.clone())
    );
    assert_eq!(
        store.list_channel_participants(channel.id).await.unwrap(),
        vec!["a-user".to_owned(), "b-user".to_owned()]
    );
    assert_conflict(store.create_channel(&channel, &[]).await);
    let orphan = fx::channel(MessageServerId::new_random(), ChannelType::Dm);
    assert_conflict(store.create_channel(&orphan, &["x".to_owned()]).await);
    assert_eq!(store.get_channel(orphan.id).await.unwrap(), None);
    assert_eq!(
        store.get_channel(ChannelId::new_random()).await.unwrap(),
        None
    );
}

pub async fn channel_list_and_update(store: &DieselStore) {
    let server = new_server(store, "S").await;
    let other = new_server(store, "Other").await;
    let mut first = fx::channel(server.id, ChannelType::Group);
    first.created_at = fx::t(1);
    let mut second = fx::channel(server.id, ChannelType::Dm);
    second.created_at = fx::t(2);
    let elsewhere = fx::channel(other.id, ChannelType::Group);
    for c in [&second, &first, &elsewhere] {
        store.create_channel(c, &["p1".to_owned()]).await.unwrap();
    }
    let listed: Vec<ChannelId> = store
        .list_server_channels(server.id)
        .await
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(listed, vec![first.id, second.id]);

    let update = ChannelUpdate {
        name: Some("renamed".into()),
        topic: Some(None),
        metadata: Some(Some(json!({"new": true}))),
        participant_ids: Some(vec!["p2".into(), "p3".into()]),
    };
    let updated = store
        .update_channel(first.id, &update, fx::t(500))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(updated.name, "renamed");
    assert_eq!(updated.topic, None);
    assert_eq!(updated.metadata, Some(json!({"new": true})));
    assert_eq!(updated.updated_at, fx::t(500));
    assert_eq!(updated.created_at, first.created_at);
    assert_eq!(updated.source_type, first.source_type);
    assert_eq!(
        store.list_channel_participants(first.id).await.unwrap(),
        vec!["p2".to_owned(), "p3".to_owned()]
    );
    // An empty update only bumps updated_at and leaves participants alone.
    let touched = store
        .update_channel(first.id, &ChannelUpdate::default(), fx::t(600))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(touched.name, "renamed");
    assert_eq!(touched.updated_at, fx::t(600));
    assert_eq!(
        store
            .list_channel_participants(first.id)
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        store
            .update_channel(ChannelId::new_random(), &update, fx::t(1))
            .await
            .unwrap(),
        None
    );
}

pub async fn channel_participants_add_and_remove(store: &DieselStore) {
    let (_, channel) = server_with_channel(store).await;
    assert!(
        store
            .list_channel_participants(channel.id)
            .await
            .unwrap()
            .is_empty()
    );
    let people = vec!["u1".to_owned(), "u2".to_owned()];
    store
        .add_channel_participants(channel.id, &people)
        .await
        .unwrap();
    store
        .add_channel_participants(channel.id, &people)
        .await
        .unwrap();
    assert_eq!(
        store.list_channel_participants(channel.id).await.unwrap(),
        people
    );
    assert!(
        store
            .remove_channel_participant(channel.id, "u1")
            .await
            .unwrap()
    );
    assert!(
        !store
            .remove_channel_participant(channel.id, "u1")
            .await
            .unwrap()
    );
    assert_eq!(
        store.list_channel_participants(channel.id).await.unwrap(),
        vec!["u2".to_owned()]
    );
    assert_conflict(
        store
            .add_channel_participants(ChannelId::new_random(), &people)
            .await,
    );
    assert!(
        store
            .list_channel_participants(ChannelId::new_random())
            .await
            .unwrap()
            .is_empty()
    );
}

/// A client's list longer than one INSERT may bind (SQLite: 32,766 values) is stored whole.
pub async fn channel_participants_beyond_one_statement(store: &DieselStore) {
    let server = new_server(store, "S").await;
    let channel = fx::channel(server.id, ChannelType::Group);
    let mut people: Vec<String> = (0..20_000).map(|i| format!("user-{i:05}")).collect();
    store.create_channel(&channel, &people).await.unwrap();
    assert_eq!(
        store.list_channel_participants(channel.id).await.unwrap(),
        people
    );
    people.push("user-late".to_owned());
    store
        .add_channel_participants(channel.id, &people)
        .await
        .unwrap();
    assert_eq!(
        store
            .list_channel_participants(channel.id)
            .await
            .unwrap()
            .len(),
        people.len()
    );
}

pub async fn channel_delete_cascades_messages_and_participants(store: &DieselStore) {
    let server = new_server(store, "S").await;
    let channel = fx::channel(server.id, ChannelType::Group);
    store
        .create_channel(&channel, &["u".to_owned()])
        .await
        .unwrap();
    let message = fx::message(channel.id, fx::t(1));
    store.create_message(&message).await.unwrap();
    assert!(store.delete_channel(channel.id).await.unwrap());
    assert!(!store.delete_channel(channel.id).await.unwrap());
    assert_eq!(store.get_message(message.id).await.unwrap(), None);
    assert!(
        store
            .list_channel_participants(channel.id)
            .await
            .unwrap()
            .is_empty()
    );
    // Deleting the server removes its channels.
    let again = fx::channel(server.id, ChannelType::Group);
    store.create_channel(&again, &[]).await.unwrap();
    store.delete_message_server(server.id).await.unwrap();
    assert_eq!(store.get_channel(again.id).await.unwrap(), None);
}

pub async fn channel_lookup_by_name_matches_server_type_and_name(store: &DieselStore) {
    let server = new_server(store, "S").await;
    let other_server = new_server(store, "Other").await;
    let named = |server, kind, name: &str, at| Channel {
        name: name.to_owned(),
        created_at: fx::t(at),
        updated_at: fx::t(at),
        ..fx::channel(server, kind)
    };
    let name = "DM-user-a-user-b";
    // Same name but a GROUP, same name on another server, another name on this server.
    for channel in [
        named(server.id, ChannelType::Group, name, 0),
        named(other_server.id, ChannelType::Dm, name, 0),
        named(server.id, ChannelType::Dm, "DM-user-a-user-c", 0),
    ] {
        store.create_channel(&channel, &[]).await.unwrap();
    }
    let find = |name: &'static str| store.find_channel_named(server.id, ChannelType::Dm, name);
    assert_eq!(find(name).await.unwrap(), None);

    let newer = named(server.id, ChannelType::Dm, name, 20);
    let older = named(server.id, ChannelType::Dm, name, 10);
    store.create_channel(&newer, &[]).await.unwrap();
    store.create_channel(&older, &[]).await.unwrap();
    assert_eq!(find(name).await.unwrap(), Some(older));
    assert_eq!(
        find("DM-user-a-user-c").await.unwrap().map(|c| c.name),
        Some("DM-user-a-user-c".to_owned())
    );
    assert_eq!(find("DM-user-b-user-c").await.unwrap(), None);
}

pub async fn message_create_is_idempotent_by_id(store: &DieselStore) {
    let (_, channel) = server_with_channel(store).await;
    let message = fx::message(channel.id, fx::t(10));
    assert_eq!(store.create_message(&message).await.unwrap(), message);
    let mut again = message.clone();
    again.content = "different".into();
    assert_eq!(store.create_message(&again).await.unwrap(), message);
    assert_eq!(
        store.get_message(message.id).await.unwrap(),
        Some(message.clone())
    );
    assert_eq!(
        store.get_message(MessageId::new_random()).await.unwrap(),
        None
    );
    let lost = eliza_domain::messaging::CentralMessage {
        id: MessageId::new_random(),
        channel_id: ChannelId::new_random(),
        ..message.clone()
    };
    assert_conflict(store.create_message(&lost).await);
}

pub async fn message_pages_are_newest_first(store: &DieselStore) {
    let (server, channel) = server_with_channel(store).await;
    let other = fx::channel(server, ChannelType::Group);
    store.create_channel(&other, &[]).await.unwrap();
    let mut sent = Vec::new();
    for ms in [10, 20, 30, 30, 40] {
        let message = fx::message(channel.id, fx::t(ms));
        store.create_message(&message).await.unwrap();
        sent.push(message);
    }
    store
        .create_message(&fx::message(other.id, fx::t(35)))
        .await
        .unwrap();
    // created_at DESC, then id DESC among equal times.
    fx::newest_first(&mut sent, |x| (x.created_at, x.id.to_string()));
    let page = |before, limit| async move {
        let page = MessagePage { before, limit };
        message_ids(&store.list_channel_messages(channel.id, page).await.unwrap())
    };
    assert_eq!(page(None, 50).await, message_ids(&sent));
    assert_eq!(page(None, 2).await, vec![sent[0].id, sent[1].id]);
    assert_eq!(
        page(Some(fx::t(30)), 10).await,
        vec![sent[3].id, sent[4].id]
    );
    assert!(page(Some(fx::t(10)), 10).await.is_empty());
}

pub async fn message_update_delete_and_clear(store: &DieselStore) {
    let (_, channel) = server_with_channel(store).await;
    let root = fx::message(channel.id, fx::t(1));
    store.create_message(&root).await.unwrap();
    let mut reply = fx::message(channel.id, fx::t(2));
    reply.in_reply_to_root_message_id = Some(root.id);
    store.create_message(&reply).await.unwrap();

    let mut edited = reply.clone();
    edited.content = "edited".into();
    edited.raw_message = None;
    edited.metadata = Some(json!({"edited": true}));
    edited.updated_at = fx::t(99);
    edited.created_at = fx::t(1234);
    edited.author_id = "someone else".into();
    assert!(store.update_message(&edited).await.unwrap());
    let stored = store.get_message(reply.id).await.unwrap().unwrap();
    assert_eq!(stored.content, "edited");
    assert_eq!(stored.raw_message, None);
    assert_eq!(stored.metadata, Some(json!({"edited": true})));
    assert_eq!(stored.updated_at, fx::t(99));
    assert_eq!(stored.created_at, reply.created_at, "created_at is kept");
    assert_eq!(stored.author_id, reply.author_id, "author is kept");
    let unknown = eliza_domain::messaging::CentralMessage {
        id: MessageId::new_random(),
        ..edited.clone()
    };
    assert!(!store.update_message(&unknown).await.unwrap());

    // Deleting the root keeps the reply, with its reference cleared.
    assert!(store.delete_message(root.id).await.unwrap());
    assert!(!store.delete_message(root.id).await.unwrap());
    let orphaned = store.get_message(reply.id).await.unwrap().unwrap();
    assert_eq!(orphaned.in_reply_to_root_message_id, None);

    store
        .create_message(&fx::message(channel.id, fx::t(3)))
        .await
        .unwrap();
    assert_eq!(store.clear_channel_messages(channel.id).await.unwrap(), 2);
    assert_eq!(store.clear_channel_messages(channel.id).await.unwrap(), 0);
}
