//! What the portal's bench binaries share: serving a router on a free
//! loopback port, and reading this process's memory.

use std::net::SocketAddr;

use axum::Router;

/// A field of `/proc/self/status` in KiB (`VmRSS:`, `VmHWM:`); 0 when it
/// cannot be read.
pub fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// Serves `app` on 127.0.0.1 (a free port, client addresses passed on);
/// its address.
pub async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await;
    });
    addr
}
