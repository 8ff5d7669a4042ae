//! `hearth_node::serve` under systemd (Type=notify): READY=1 once the broker accepted the
//! connection, WATCHDOG=1 at half of WATCHDOG_USEC, STOPPING=1 on the way out. systemd is played by
//! a datagram socket named in NOTIFY_SOCKET. (This lives here because hearth-node has no broker to
//! test against; the bridge is the service being served.)

use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

use hearth_node::NodeFile;

fn receive(socket: &UnixDatagram, want: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut buf = [0u8; 256];
    loop {
        assert!(Instant::now() < deadline, "no {want} from the service");
        if let Ok(n) = socket.recv(&mut buf) {
            let text = String::from_utf8_lossy(&buf[..n]).to_string();
            if text.contains(want) {
                return text;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_watchdog_and_stopping() {
    let broker = hearth_broker::start_on_free_ports().unwrap();
    let dir = tempfile_dir();
    let path = dir.join("notify.sock");
    let socket = UnixDatagram::bind(&path).unwrap();
    socket.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    // Only this test in this binary touches the environment.
    std::env::set_var("NOTIFY_SOCKET", &path);
    std::env::set_var("WATCHDOG_USEC", "400000");
    std::env::remove_var("WATCHDOG_PID");

    let text = format!("[bus]\nhost = \"127.0.0.1\"\nport = {}\n[ha]\ndiscovery_delay_ms = 10\n", broker.mqtt.port());
    let file = NodeFile::parse(&text, None).unwrap();
    let config: hearth_ha::HaConfig = file.section("ha").unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(async move {
        hearth_node::serve(&file, "ha", |bus, shutdown| async move {
            let inner = shutdown.child();
            let bridge = tokio::spawn(hearth_ha::run(config, bus, inner.clone()));
            let _ = stop_rx.await;
            inner.trigger();
            bridge.await.map_err(|e| e.to_string())?.map_err(|e| e.to_string())
        })
        .await
    });

    let ready = tokio::task::spawn_blocking({
        let socket = socket.try_clone().unwrap();
        move || {
            let ready = receive(&socket, "READY=1");
            // Two pings within a second: the period is half of 400 ms.
            receive(&socket, "WATCHDOG=1");
            receive(&socket, "WATCHDOG=1");
            ready
        }
    })
    .await
    .unwrap();
    assert!(ready.contains("STATUS=ha connected to the broker"), "{ready}");

    stop_tx.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), served).await.unwrap().unwrap().unwrap();
    let stopping = tokio::task::spawn_blocking(move || receive(&socket, "STOPPING=1")).await.unwrap();
    assert_eq!(stopping, "STOPPING=1");
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("hearth-sd-{}-{}", std::process::id(), hearth_bus::ids::new_id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
