//! Socket.IO v5: namespaces, events and acks, carried in Engine.IO `message` packets.

pub mod binary;
pub mod packet;
