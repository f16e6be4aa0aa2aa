//! The agent-side social graph: `entities`, `worlds`, `rooms`, `participants` and `relationships`.

use crate::codec::{
    db_time, from_json, id_text, opt_from_json, opt_id_text, opt_to_json, parse_id, parse_opt_id,
    to_json, utc,
};
use crate::conn::{DbConn, MultiBackend, write_transaction};
use crate::error::{DbResult, corrupt};
use crate::queries::{convert_all, convert_opt, insert_ignore, upsert};
use crate::schema::{entities, memories, participants, relationships, rooms, worlds};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::upsert::excluded;
use eliza_domain::world::{Entity, Participant, Relationship, Room, RoomState, World};
use eliza_domain::{AgentId, EntityId, RoomId, StoreError, WorldId};

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = entities)]
pub(crate) struct EntityRow {
    id: String,
    agent_id: String,
    created_at: NaiveDateTime,
    names: String,
    metadata: String,
}

impl TryFrom<&Entity> for EntityRow {
    type Error = StoreError;

    fn try_from(entity: &Entity) -> Result<Self, StoreError> {
        Ok(EntityRow {
            id: id_text(entity.id),
            agent_id: id_text(entity.agent_id),
            created_at: db_time(entity.created_at),
            names: to_json(&entity.names)?,
            metadata: to_json(&entity.metadata)?,
        })
    }
}

impl TryFrom<EntityRow> for Entity {
    type Error = StoreError;

    fn try_from(row: EntityRow) -> Result<Self, StoreError> {
        Ok(Entity {
            id: parse_id("entities.id", &row.id)?,
            agent_id: parse_id("entities.agent_id", &row.agent_id)?,
            names: from_json("entities.names", &row.names)?,
            metadata: from_json("entities.metadata", &row.metadata)?,
            created_at: utc(row.created_at),
        })
    }
}

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = worlds, treat_none_as_null = true)]
pub(crate) struct WorldRow {
    id: String,
    #[diesel(skip_update)]
    agent_id: String,
    name: String,
    metadata: Option<String>,
    message_server_id: Option<String>,
    #[diesel(skip_update)]
    created_at: NaiveDateTime,
}

impl TryFrom<&World> for WorldRow {
    type Error = StoreError;

    fn try_from(world: &World) -> Result<Self, StoreError> {
        Ok(WorldRow {
            id: id_text(world.id),
            agent_id: id_text(world.agent_id),
            name: world.name.clone(),
            metadata: opt_to_json(world.metadata.as_ref())?,
            message_server_id: opt_id_text(world.message_server_id),
            created_at: db_time(world.created_at),
        })
    }
}

impl TryFrom<WorldRow> for World {
    type Error = StoreError;

    fn try_from(row: WorldRow) -> Result<Self, StoreError> {
        Ok(World {
            id: parse_id("worlds.id", &row.id)?,
            agent_id: parse_id("worlds.agent_id", &row.agent_id)?,
            name: row.name,
            metadata: opt_from_json("worlds.metadata", row.metadata.as_deref())?,
            message_server_id: parse_opt_id(
                "worlds.message_server_id",
                row.message_server_id.as_deref(),
            )?,
            created_at: utc(row.created_at),
        })
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = rooms)]
pub(crate) struct RoomRow {
    id: String,
    agent_id: String,
    source: String,
    room_type: String,
    message_server_id: Option<String>,
    world_id: Option<String>,
    name: Option<String>,
    metadata: Option<String>,
    channel_id: Option<String>,
    created_at: NaiveDateTime,
}

impl TryFrom<&Room> for RoomRow {
    type Error = StoreError;

    fn try_from(room: &Room) -> Result<Self, StoreError> {
        Ok(RoomRow {
            id: id_text(room.id),
            agent_id: id_text(room.agent_id),
            source: room.source.clone(),
            room_type: room.room_type.clone(),
            message_server_id: opt_id_text(room.message_server_id),
            world_id: opt_id_text(room.world_id),
            name: room.name.clone(),
            metadata: opt_to_json(room.metadata.as_ref())?,
            channel_id: room.channel_id.clone(),
            created_at: db_time(room.created_at),
        })
    }
}

impl TryFrom<RoomRow> for Room {
    type Error = StoreError;

    fn try_from(row: RoomRow) -> Result<Self, StoreError> {
        Ok(Room {
            id: parse_id("rooms.id", &row.id)?,
            agent_id: parse_id("rooms.agent_id", &row.agent_id)?,
            source: row.source,
            room_type: row.room_type,
            message_server_id: parse_opt_id(
                "rooms.message_server_id",
                row.message_server_id.as_deref(),
            )?,
            world_id: parse_opt_id("rooms.world_id", row.world_id.as_deref())?,
            name: row.name,
            metadata: opt_from_json("rooms.metadata", row.metadata.as_deref())?,
            channel_id: row.channel_id,
            created_at: utc(row.created_at),
        })
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = participants)]
pub(crate) struct ParticipantRow {
    id: String,
    created_at: NaiveDateTime,
    entity_id: String,
    room_id: String,
    agent_id: String,
    room_state: Option<String>,
}

impl From<&Participant> for ParticipantRow {
    fn from(participant: &Participant) -> Self {
        ParticipantRow {
            id: id_text(participant.id),
            created_at: db_time(participant.created_at),
            entity_id: id_text(participant.entity_id),
            room_id: id_text(participant.room_id),
            agent_id: id_text(participant.agent_id),
            room_state: participant.room_state.map(|s| s.as_str().to_owned()),
        }
    }
}

impl TryFrom<ParticipantRow> for Participant {
    type Error = StoreError;

    fn try_from(row: ParticipantRow) -> Result<Self, StoreError> {
        let room_state = row
            .room_state
            .as_deref()
            .map(|s| RoomState::parse(s).ok_or_else(|| corrupt("participants.room_state", s)))
            .transpose()?;
        Ok(Participant {
            id: parse_id("participants.id", &row.id)?,
            entity_id: parse_id("participants.entity_id", &row.entity_id)?,
            room_id: parse_id("participants.room_id", &row.room_id)?,
            agent_id: parse_id("participants.agent_id", &row.agent_id)?,
            room_state,
            created_at: utc(row.created_at),
        })
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = relationships)]
pub(crate) struct RelationshipRow {
    id: String,
    created_at: NaiveDateTime,
    source_entity_id: String,
    target_entity_id: String,
    agent_id: String,
    tags: String,
    metadata: String,
}

impl TryFrom<&Relationship> for RelationshipRow {
    type Error = StoreError;

    fn try_from(relationship: &Relationship) -> Result<Self, StoreError> {
        Ok(RelationshipRow {
            id: id_text(relationship.id),
            created_at: db_time(relationship.created_at),
            source_entity_id: id_text(relationship.source_entity_id),
            target_entity_id: id_text(relationship.target_entity_id),
            agent_id: id_text(relationship.agent_id),
            tags: to_json(&relationship.tags)?,
            metadata: to_json(&relationship.metadata)?,
        })
    }
}

impl TryFrom<RelationshipRow> for Relationship {
    type Error = StoreError;

    fn try_from(row: RelationshipRow) -> Result<Self, StoreError> {
        Ok(Relationship {
            id: parse_id("relationships.id", &row.id)?,
            source_entity_id: parse_id("relationships.source_entity_id", &row.source_entity_id)?,
            target_entity_id: parse_id("relationships.target_entity_id", &row.target_entity_id)?,
            agent_id: parse_id("relationships.agent_id", &row.agent_id)?,
            tags: from_json("relationships.tags", &row.tags)?,
            metadata: from_json("relationships.metadata", &row.metadata)?,
            created_at: utc(row.created_at),
        })
    }
}

pub(crate) fn ensure_entity(conn: &mut DbConn, entity: &Entity) -> DbResult<bool> {
    let row = EntityRow::try_from(entity)?;
    Ok(insert_ignore!(conn, entities::table, &row)?)
}

pub(crate) fn get_entity(
    conn: &mut DbConn,
    agent: AgentId,
    id: EntityId,
) -> DbResult<Option<Entity>> {
    let row = entities::table
        .find((id_text(id), id_text(agent)))
        .select(EntityRow::as_select())
        .first(conn)
        .optional()?;
    convert_opt(row)
}

pub(crate) fn ensure_world(conn: &mut DbConn, world: &World) -> DbResult<bool> {
    let row = WorldRow::try_from(world)?;
    Ok(insert_ignore!(conn, worlds::table, &row)?)
}

pub(crate) fn get_world(conn: &mut DbConn, id: WorldId) -> DbResult<Option<World>> {
    let row = worlds::table
        .find(id_text(id))
        .select(WorldRow::as_select())
        .first(conn)
        .optional()?;
    convert_opt(row)
}

pub(crate) fn agent_worlds(conn: &mut DbConn, agent: AgentId) -> DbResult<Vec<World>> {
    let rows = worlds::table
        .filter(worlds::agent_id.eq(id_text(agent)))
        .order((worlds::created_at, worlds::id))
        .select(WorldRow::as_select())
        .load(conn)?;
    convert_all(rows)
}

/// Replaces name, metadata and message server (the owner and creation time stay).
pub(crate) fn update_world(conn: &mut DbConn, world: &World) -> DbResult<bool> {
    let row = WorldRow::try_from(world)?;
    let updated = diesel::update(worlds::table.find(&row.id))
        .set(&row)
        .execute(conn)?;
    Ok(updated > 0)
}

/// Deletes the world with its rooms (their memories, participants and components go by
/// cascade) and the memories stamped with it; returns whether the world existed.
pub(crate) fn delete_world(conn: &mut DbConn, id: WorldId) -> DbResult<bool> {
    let id = id_text(id);
    write_transaction(conn, |conn| {
        diesel::delete(memories::table.filter(memories::world_id.eq(&id))).execute(conn)?;
        diesel::delete(rooms::table.filter(rooms::world_id.eq(&id))).execute(conn)?;
        Ok(diesel::delete(worlds::table.find(&id)).execute(conn)? > 0)
    })
}

pub(crate) fn ensure_room(conn: &mut DbConn, room: &Room) -> DbResult<bool> {
    let row = RoomRow::try_from(room)?;
    Ok(insert_ignore!(conn, rooms::table, &row)?)
}

pub(crate) fn get_room(conn: &mut DbConn, id: RoomId) -> DbResult<Option<Room>> {
    let row = rooms::table
        .find(id_text(id))
        .select(RoomRow::as_select())
        .first(conn)
        .optional()?;
    convert_opt(row)
}

pub(crate) fn agent_rooms(conn: &mut DbConn, agent: AgentId) -> DbResult<Vec<Room>> {
    load_rooms(
        conn,
        rooms::table
            .filter(rooms::agent_id.eq(id_text(agent)))
            .into_boxed(),
    )
}

pub(crate) fn world_rooms(conn: &mut DbConn, world: WorldId) -> DbResult<Vec<Room>> {
    load_rooms(
        conn,
        rooms::table
            .filter(rooms::world_id.eq(id_text(world)))
            .into_boxed(),
    )
}

fn load_rooms(
    conn: &mut DbConn,
    query: rooms::BoxedQuery<'static, MultiBackend>,
) -> DbResult<Vec<Room>> {
    let rows = query
        .order((rooms::created_at, rooms::id))
        .select(RoomRow::as_select())
        .load(conn)?;
    convert_all(rows)
}

pub(crate) fn delete_room(conn: &mut DbConn, id: RoomId) -> DbResult<bool> {
    Ok(diesel::delete(rooms::table.find(id_text(id))).execute(conn)? > 0)
}

/// Inserts unless the entity is already in the room (unique `(room_id, entity_id)`).
pub(crate) fn ensure_participant(conn: &mut DbConn, participant: &Participant) -> DbResult<bool> {
    let row = ParticipantRow::from(participant);
    Ok(insert_ignore!(conn, participants::table, &row)?)
}

pub(crate) fn room_participants(conn: &mut DbConn, room: RoomId) -> DbResult<Vec<Participant>> {
    let rows = participants::table
        .filter(participants::room_id.eq(id_text(room)))
        .order((participants::created_at, participants::id))
        .select(ParticipantRow::as_select())
        .load(conn)?;
    convert_all(rows)
}

pub(crate) fn set_room_state(
    conn: &mut DbConn,
    room: RoomId,
    entity: EntityId,
    state: Option<RoomState>,
) -> DbResult<bool> {
    let updated = diesel::update(
        participants::table
            .filter(participants::room_id.eq(id_text(room)))
            .filter(participants::entity_id.eq(id_text(entity))),
    )
    .set(participants::room_state.eq(state.map(|s| s.as_str())))
    .execute(conn)?;
    Ok(updated > 0)
}

/// Inserts, or updates tags and metadata of the existing `(source, target, agent)` relationship.
pub(crate) fn upsert_relationship(conn: &mut DbConn, relationship: &Relationship) -> DbResult<()> {
    let row = RelationshipRow::try_from(relationship)?;
    let target = (
        relationships::source_entity_id,
        relationships::target_entity_id,
        relationships::agent_id,
    );
    let changes = (
        relationships::tags.eq(excluded(relationships::tags)),
        relationships::metadata.eq(excluded(relationships::metadata)),
    );
    upsert!(conn, relationships::table, &row, target, changes)?;
    Ok(())
}

/// The agent's relationships in which the entity is either side.
pub(crate) fn entity_relationships(
    conn: &mut DbConn,
    agent: AgentId,
    entity: EntityId,
) -> DbResult<Vec<Relationship>> {
    let entity = id_text(entity);
    let rows = relationships::table
        .filter(relationships::agent_id.eq(id_text(agent)))
        .filter(
            relationships::source_entity_id
                .eq(&entity)
                .or(relationships::target_entity_id.eq(&entity)),
        )
        .order((relationships::created_at, relationships::id))
        .select(RelationshipRow::as_select())
        .load(conn)?;
    convert_all(rows)
}
