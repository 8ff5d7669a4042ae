//! A subscriber whose socket stops being read (a frozen process, a satellite whose Wi-Fi stalls) must
//! neither grow the broker's memory with the length of the stall nor hold back the other subscribers
//! of the same frames. The broker keeps at most its log per subscription; the stalled client, once it
//! reads again, has skipped ahead past what the log no longer holds, and the skip is counted.
//!
//! Nothing here depends on the machine's speed: frames go out in chunks, each one waited for at the
//! healthy subscriber, and the memory bound is compared with what an unbounded queue would add.

use std::time::Duration;

use hearth_bus::audio::AudioFrame;
use hearth_bus::{Bus, BusConfig, Inbox, Message};
use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Packet, QoS};

const WAIT: Duration = Duration::from_secs(30);
/// 64 KiB of PCM per frame, so that a few hundred frames outgrow the broker's log (two 8 MiB segments
/// per subscription) and the kernel's socket buffers together.
const FRAME_SAMPLES: usize = 32 * 1024;
const CHUNK: u64 = 64;
const MIB: u64 = 1024 * 1024;

fn resident_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("Linux /proc");
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status");
    kib * 1024
}

/// Publishes frames `from..to` in chunks; the healthy subscriber must get every one, in order, before
/// the next chunk goes (so it never lags, however loaded the machine).
async fn stream(talker: &hearth_bus::BusClient, healthy: &mut Inbox, from: u64, to: u64) {
    let samples = vec![7i16; FRAME_SAMPLES];
    let mut seq = from;
    while seq < to {
        let end = (seq + CHUNK).min(to);
        for s in seq..end {
            talker.publish("kitchen", &AudioFrame::from_samples(s, 0, 16_000, 1, &samples)).await.unwrap();
        }
        for expected in seq..end {
            let e = healthy.next_matching(WAIT, |e| e.is::<AudioFrame>()).await.expect("healthy subscriber starved");
            assert_eq!(e.decode::<AudioFrame>().unwrap().seq, expected, "healthy subscriber lost or reordered a frame");
        }
        seq = end;
    }
}

/// A raw client that is polled until its subscription is acknowledged and then left alone, so
/// nothing reads its socket: the broker's writes to it fill the kernel buffers and then block.
async fn stalled_subscriber(port: u16, filter: String) -> (AsyncClient, EventLoop) {
    let mut options = MqttOptions::new("stalled-subscriber", "127.0.0.1", port);
    // Long enough that neither side drops the connection for silence while it is stalled.
    options.set_keep_alive(Duration::from_secs(600)).set_max_packet_size(8 << 20, 8 << 20);
    let (client, mut eventloop) = AsyncClient::new(options, 16);
    client.subscribe(filter, QoS::AtMostOnce).await.unwrap();
    loop {
        let event = tokio::time::timeout(WAIT, eventloop.poll()).await.expect("no SubAck").expect("connection failed");
        if matches!(event, Event::Incoming(Packet::SubAck(_))) {
            return (client, eventloop);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_subscriber_neither_grows_the_broker_nor_delays_the_others() {
    let broker = hearth_broker::start_on_free_ports().unwrap();
    let config = BusConfig { host: "127.0.0.1".into(), port: broker.mqtt.port(), ..BusConfig::default() };
    let filter = hearth_bus::topic::filter_all_sites::<AudioFrame>();

    let (healthy, healthy_conn) = Bus::connect_tool(&config, "healthy", "default").unwrap();
    let Bus { client: healthy_client, inbox: mut healthy_inbox } = healthy;
    healthy_client.wait_connected(WAIT).await.unwrap();
    healthy_client.subscribe_all_sites::<AudioFrame>().await.unwrap();
    let (_stalled, mut stalled_loop) = stalled_subscriber(broker.mqtt.port(), filter).await;
    let (talker, talker_conn) = Bus::connect_tool(&config, "mic", "kitchen").unwrap();
    talker.client.wait_connected(WAIT).await.unwrap();
    // The healthy subscription is in place once a first frame comes through.
    let probe = AudioFrame::from_samples(u64::MAX, 0, 16_000, 1, &[0; 4]);
    loop {
        talker.client.publish("kitchen", &probe).await.unwrap();
        if healthy_inbox.next_matching(Duration::from_millis(200), |e| e.is::<AudioFrame>()).await.is_some() {
            break;
        }
    }
    while healthy_inbox.next_matching(Duration::from_millis(200), |e| e.is::<AudioFrame>()).await.is_some() {}

    // 32 MiB fills the stalled client's socket buffers and the subscription's log to their bounds;
    // 64 MiB more must then add nothing that stays.
    let first = 32 * MIB / (FRAME_SAMPLES as u64 * 2);
    let total = first + 64 * MIB / (FRAME_SAMPLES as u64 * 2);
    stream(&talker.client, &mut healthy_inbox, 0, first).await;
    let resident_at_bound = resident_bytes();
    stream(&talker.client, &mut healthy_inbox, first, total).await;
    let growth = resident_bytes().saturating_sub(resident_at_bound);
    assert!(
        growth < 32 * MIB,
        "the broker kept {} MiB more for a stalled subscriber while 64 MiB went past it",
        growth / MIB
    );

    // Reading again, the stalled client gets the newest frames but not its whole backlog.
    let mut received = 0u64;
    loop {
        let event = tokio::time::timeout(WAIT, stalled_loop.poll()).await.expect("stalled client got nothing").unwrap();
        if let Event::Incoming(Packet::Publish(p)) = event {
            let seq = AudioFrame::from_payload(&p.payload).unwrap().seq;
            received += 1;
            if seq == total - 1 {
                break;
            }
        }
    }
    assert!(received < total, "the broker queued all {total} frames for a stalled client");
    let counted = tokio::time::timeout(WAIT, async {
        while broker.lagging_skips() == 0 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    counted.await.expect("the skip was not counted");

    talker_conn.close().await;
    healthy_conn.close().await;
}
