//! Engine.IO v4: the transport-level protocol under Socket.IO.

pub mod packet;
