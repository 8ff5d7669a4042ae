//! The arbiter on the bus: `wake/heard` of every site in; `wake/detected` at the one site that runs
//! the turn and `wake/lost` at the others out. It runs once per house, beside the broker (`hearth
//! broker` and `hearth up` start it with the embedded broker; `hearth service arbiter` runs it alone
//! beside any other broker). Wake services publish `wake/detected` themselves while no arbiter is
//! `online`, so a house without one still answers (each room for itself).

use hearth_bus::audio::StopPlayback;
use hearth_bus::brain::{AssistantState, StateChanged};
use hearth_bus::service::ServiceState;
use hearth_bus::wake::{WakeDetected, WakeHeard, WakeLost, WakeState};
use hearth_bus::{Bus, BusClient, BusError, Message, Shutdown};
use tokio::time::Instant;
use tracing::{info, warn};

use crate::arbiter::{Arbiter, ArbiterConfig, Outcome};

/// Decides every round of wake candidates until shutdown.
pub async fn run(config: ArbiterConfig, bus: Bus, shutdown: Shutdown) -> Result<(), BusError> {
    let Bus { client, mut inbox } = bus;
    // Known states first (retained), so the first round already knows who listens and who is busy.
    client.subscribe_all_sites::<WakeState>().await?;
    client.subscribe_all_sites::<StateChanged>().await?;
    client.subscribe_all_sites::<WakeHeard>().await?;
    client.set_capabilities(vec![format!("arbiter:window_ms={}", config.window_ms)]).await?;
    client.set_status(ServiceState::Online, None).await?;
    info!(window_ms = config.window_ms, score_margin = config.score_margin, "wake word arbiter ready");
    let mut arbiter = Arbiter::new(config);
    loop {
        let deadline = arbiter.next_deadline();
        let outcomes = tokio::select! {
            _ = shutdown.wait() => break,
            _ = sleep_until(deadline) => arbiter.on_deadline(Instant::now()),
            envelope = inbox.recv() => {
                let Some(envelope) = envelope else { break };
                let Some(site) = envelope.site().map(str::to_owned) else { continue };
                if let Some(heard) = envelope.decode::<WakeHeard>() {
                    info!(%site, word = %heard.word, score = heard.score, level_dbfs = heard.level_dbfs, "wake candidate");
                    arbiter.on_heard(&site, heard, Instant::now())
                } else if let Some(state) = envelope.decode::<WakeState>() {
                    arbiter.on_wake_state(&site, state.enabled);
                    continue;
                } else if let Some(state) = envelope.decode::<StateChanged>() {
                    arbiter.on_busy(&site, !matches!(state.state, AssistantState::Idle | AssistantState::Unknown));
                    continue;
                } else {
                    continue;
                }
            }
        };
        for outcome in outcomes {
            publish_outcome(&client, outcome).await;
        }
    }
    Ok(())
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

async fn publish_outcome(client: &BusClient, outcome: Outcome) {
    match outcome {
        Outcome::Won { site, heard, waited, rivals } => {
            info!(%site, word = %heard.word, session = %heard.session_id, waited_ms = waited.as_millis() as u64, rivals, "wake word: this site answers");
            if heard.barge_in {
                // Stop first, so the reply is cut before the new turn's listening chime.
                publish(client, &site, &StopPlayback { reason: "wake".into() }).await;
            }
            let detected = WakeDetected {
                session_id: heard.session_id,
                word: heard.word,
                score: heard.score,
                timestamp_ms: heard.timestamp_ms,
            };
            publish(client, &site, &detected).await;
        }
        Outcome::Lost { site, heard, winner_site, reason } => {
            info!(%site, word = %heard.word, %winner_site, ?reason, "wake word: another site answers");
            let lost = WakeLost { session_id: heard.session_id, word: heard.word, winner_site, reason };
            publish(client, &site, &lost).await;
        }
    }
}

async fn publish<M: Message>(client: &BusClient, site: &str, msg: &M) {
    if let Err(error) = client.publish(site, msg).await {
        warn!(topic = M::SUFFIX, %error, "could not publish");
    }
}
