//! The per-session dispatcher task: decodes Socket.IO packets, runs namespace CONNECT,
//! calls the handler in arrival order, and cleans up when the session closes.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt;
use tokio::sync::mpsc;

use super::socket::{Ack, Socket};
use super::{DisconnectReason, ServerInner, random_id};
use crate::session::{CloseReason, Inbound, Session};
use crate::socket::binary::{Assembled, BinaryAssembler};
use crate::socket::packet::{MAIN_NAMESPACE, Packet, PacketType};

struct Dispatcher {
    server: Arc<ServerInner>,
    session: Arc<Session>,
    socket: Option<Socket>,
    assembler: BinaryAssembler,
    ever_connected: bool,
}

pub(crate) async fn run(
    server: Arc<ServerInner>,
    session: Arc<Session>,
    mut inbound: mpsc::Receiver<Inbound>,
) {
    let connect_deadline = tokio::time::sleep(server.config.connect_timeout);
    tokio::pin!(connect_deadline);
    let mut changes = session.subscribe_control();
    // One message may carry at most maxPayload; so may the attachments of one packet.
    let attachment_limit = server.config.max_payload;
    let mut dispatcher = Dispatcher {
        server,
        session: Arc::clone(&session),
        socket: None,
        assembler: BinaryAssembler::with_limit(attachment_limit),
        ever_connected: false,
    };

    loop {
        let socket = dispatcher.socket.clone();
        tokio::select! {
            biased;
            () = session.wait_until(&mut changes, |s| s.close_reason().is_some()) => break,
            () = &mut connect_deadline, if !dispatcher.ever_connected => {
                // No namespace CONNECT in time: the client is not speaking Socket.IO.
                session.close(CloseReason::ForcedClose);
            }
            () = wait_disconnect(socket.as_ref()) => dispatcher.server_disconnect().await,
            message = inbound.recv() => match message {
                Some(message) => {
                    if let Err(reason) = dispatcher.handle(message).await {
                        session.close(reason);
                    }
                }
                None => break,
            },
        }
    }
    dispatcher.finish().await;
}

async fn wait_disconnect(socket: Option<&Socket>) {
    match socket {
        Some(socket) => socket.disconnect_requested().await,
        None => std::future::pending().await,
    }
}

impl Dispatcher {
    async fn handle(&mut self, message: Inbound) -> Result<(), CloseReason> {
        let assembled = match message {
            Inbound::Text(text) => {
                let packet = Packet::decode(&text).map_err(|_| CloseReason::ParseError)?;
                self.assembler.start(packet)
            }
            Inbound::Binary(bytes) => self.assembler.push(bytes),
        };
        match assembled.map_err(|_| CloseReason::ParseError)? {
            Assembled::Ready(packet) => self.dispatch(packet).await,
            Assembled::Waiting => Ok(()),
        }
    }

    async fn dispatch(&mut self, packet: Packet) -> Result<(), CloseReason> {
        if packet.kind == PacketType::Connect {
            return self.connect(packet).await;
        }
        // Anything but CONNECT for a namespace the client is not in: invalid state.
        let socket = match &self.socket {
            Some(socket) if socket.namespace() == packet.namespace => socket.clone(),
            _ => return Err(CloseReason::ParseError),
        };
        match packet.kind {
            PacketType::Event => {
                let ack_id = packet.ack_id;
                let (event, args) = packet.into_event().ok_or(CloseReason::ParseError)?;
                let ack = ack_id.map(|id| Ack::new(socket.clone(), id));
                let handler = Arc::clone(&self.server.handler);
                guarded(handler.on_event(&socket, event, args, ack)).await?;
            }
            PacketType::Ack => {
                if let Some(id) = packet.ack_id {
                    socket.resolve_ack(id, packet.into_ack_args());
                }
            }
            PacketType::Disconnect => {
                self.leave(DisconnectReason::ClientNamespaceDisconnect)
                    .await
            }
            // Only servers send CONNECT_ERROR; binary types were assembled already.
            _ => return Err(CloseReason::ParseError),
        }
        Ok(())
    }

    async fn connect(&mut self, packet: Packet) -> Result<(), CloseReason> {
        if packet.namespace != MAIN_NAMESPACE {
            return self.reply(&Packet::connect_error(
                &packet.namespace,
                "Invalid namespace",
            ));
        }
        if let Some(socket) = &self.socket {
            // A repeated CONNECT: confirm the existing socket.
            return self.reply(&Packet::connect_ok(MAIN_NAMESPACE, socket.id()));
        }
        let socket = Socket::new(
            random_id(),
            MAIN_NAMESPACE,
            Arc::clone(&self.session),
            Arc::downgrade(&self.server),
        );
        let handler = Arc::clone(&self.server.handler);
        let decision = guarded(handler.on_connect(&socket, packet.data, self.session.handshake()));
        if let Err(message) = decision.await? {
            return self.reply(&Packet::connect_error(MAIN_NAMESPACE, &message));
        }
        self.ever_connected = true;
        self.server.rooms.add_socket(&socket);
        // Like Node, every socket is in the room named after its id.
        socket.join(socket.id());
        self.socket = Some(socket.clone());
        self.reply(&Packet::connect_ok(MAIN_NAMESPACE, socket.id()))?;
        guarded(handler.on_connected(&socket)).await
    }

    fn reply(&self, packet: &Packet) -> Result<(), CloseReason> {
        self.session
            .enqueue(crate::engine::packet::Packet::Message(packet.encode()))
    }

    async fn server_disconnect(&mut self) {
        if let Some(socket) = &self.socket {
            let _ = socket.send(Packet::disconnect(socket.namespace()));
        }
        self.leave(DisconnectReason::ServerNamespaceDisconnect)
            .await;
    }

    /// The socket leaves its namespace: out of every room, then the handler hears of it.
    async fn leave(&mut self, reason: DisconnectReason) {
        let Some(socket) = self.socket.take() else {
            return;
        };
        self.server.rooms.remove_socket(&socket, &socket.rooms());
        // A panic here has nothing left to close; the session is going away anyway.
        let _ = guarded(self.server.handler.on_disconnect(&socket, reason)).await;
    }

    async fn finish(mut self) {
        let reason = self
            .session
            .close_reason()
            .unwrap_or(CloseReason::TransportClose);
        self.session.close(reason);
        self.leave(DisconnectReason::Transport(reason)).await;
        self.server.remove_session(self.session.sid());
    }
}

/// Runs a handler call; a panic in it closes this session only (the dispatcher survives to clean
/// up, so the socket leaves its rooms and the handler hears of the disconnect).
async fn guarded<F: Future>(call: F) -> Result<F::Output, CloseReason> {
    AssertUnwindSafe(call).catch_unwind().await.map_err(|_| {
        tracing::error!("socket handler panicked; closing the session");
        CloseReason::ForcedClose
    })
}
