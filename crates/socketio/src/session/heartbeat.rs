//! The server-driven heartbeat of Engine.IO v4: `2` every pingInterval, `3` expected within
//! pingTimeout, otherwise the session closes with "ping timeout".

use std::sync::Arc;
use std::time::Duration;

use super::handle::Session;

fn closed(session: &Session) -> bool {
    session.close_reason().is_some()
}

pub async fn run(session: Arc<Session>, ping_interval: Duration, ping_timeout: Duration) {
    let mut changes = session.subscribe_control();
    loop {
        // A close during the interval ends the heartbeat early.
        if tokio::time::timeout(ping_interval, session.wait_until(&mut changes, closed))
            .await
            .is_ok()
        {
            return;
        }
        if session.send_ping().is_err() {
            return;
        }
        let answered = session.wait_until(&mut changes, |s| closed(s) || !s.awaiting_pong());
        let timed_out = tokio::time::timeout(ping_timeout, answered).await.is_err();
        if closed(&session) || (timed_out && session.check_pong_deadline().is_err()) {
            return;
        }
    }
}
