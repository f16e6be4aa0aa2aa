//! Local sockets and room membership, and broadcasts to rooms.
//!
//! Locks are held only to copy member lists; packets are queued after releasing them,
//! and queueing never waits on a socket.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use serde_json::Value;

use super::socket::Socket;
use super::{ServerInner, lock};
use crate::socket::packet::{MAIN_NAMESPACE, Packet as SioPacket};

#[derive(Default)]
pub(crate) struct Rooms {
    sockets: Mutex<HashMap<String, Socket>>,
    members: Mutex<HashMap<String, HashSet<String>>>,
}

impl Rooms {
    pub(crate) fn add_socket(&self, socket: &Socket) {
        lock(&self.sockets).insert(socket.id().to_owned(), socket.clone());
    }

    /// Forgets the socket and takes it out of every room it was in.
    pub(crate) fn remove_socket(&self, socket: &Socket, rooms: &[String]) {
        lock(&self.sockets).remove(socket.id());
        let mut members = lock(&self.members);
        for room in rooms {
            remove_member(&mut members, room, socket.id());
        }
    }

    pub(crate) fn join(&self, room: &str, socket_id: &str) {
        lock(&self.members)
            .entry(room.to_owned())
            .or_default()
            .insert(socket_id.to_owned());
    }

    pub(crate) fn leave(&self, room: &str, socket_id: &str) {
        remove_member(&mut lock(&self.members), room, socket_id);
    }

    pub(crate) fn socket_count(&self) -> usize {
        lock(&self.sockets).len()
    }

    pub(crate) fn socket(&self, id: &str) -> Option<Socket> {
        lock(&self.sockets).get(id).cloned()
    }

    /// The sockets in any of `rooms`, minus `except`.
    fn targets(&self, rooms: &[String], except: &HashSet<String>) -> Vec<Socket> {
        let ids: HashSet<String> = {
            let members = lock(&self.members);
            rooms
                .iter()
                .filter_map(|room| members.get(room))
                .flatten()
                .filter(|id| !except.contains(*id))
                .cloned()
                .collect()
        };
        let sockets = lock(&self.sockets);
        ids.iter()
            .filter_map(|id| sockets.get(id).cloned())
            .collect()
    }
}

/// An empty room disappears, so rooms do not accumulate.
fn remove_member(members: &mut HashMap<String, HashSet<String>>, room: &str, socket_id: &str) {
    if let Some(set) = members.get_mut(room) {
        set.remove(socket_id);
        if set.is_empty() {
            members.remove(room);
        }
    }
}

/// A broadcast target: rooms, minus excluded sockets.
#[derive(Clone)]
pub struct Operator {
    server: Arc<ServerInner>,
    rooms: Vec<String>,
    except: HashSet<String>,
}

impl Operator {
    pub(crate) fn new(server: Arc<ServerInner>, room: &str) -> Self {
        Self {
            server,
            rooms: vec![room.to_owned()],
            except: HashSet::new(),
        }
    }

    /// Adds another room (members of several rooms receive the event once).
    #[must_use]
    pub fn to(mut self, room: &str) -> Self {
        self.rooms.push(room.to_owned());
        self
    }

    /// Leaves out one socket (typically the sender).
    #[must_use]
    pub fn except(mut self, socket_id: &str) -> Self {
        self.except.insert(socket_id.to_owned());
        self
    }

    /// Emits `event` with one argument; returns how many sockets it was queued for.
    /// A socket whose queue is full is closed as a slow client and not counted.
    pub fn emit(&self, event: &str, data: Value) -> usize {
        self.emit_args(event, vec![data])
    }

    pub fn emit_args(&self, event: &str, args: Vec<Value>) -> usize {
        // Encoded once for every target.
        let encoded = crate::socket::binary::encode_outgoing(SioPacket::event(
            MAIN_NAMESPACE,
            event,
            args,
            None,
        ));
        let targets = self.server.rooms.targets(&self.rooms, &self.except);
        targets
            .iter()
            .filter(|socket| socket.send_encoded(&encoded).is_ok())
            .count()
    }
}
