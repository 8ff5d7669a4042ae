//! Will the node's services fit in its memory? Each service's own resident memory (measured with
//! `hearth bench soak`) plus the model weights it reads into RAM (Hearth reads weights in rather than
//! mapping them, so a model file's size is memory), against the machine's total.

use std::path::{Path, PathBuf};

use crate::files::{human_size, MODEL_FILES};
use crate::report::Check;

/// Resident memory of each service without its model weights, MiB. Measured with `hearth bench soak`
/// (x86_64, 2026-12-03): the process's RSS less the size of the weights it loaded; the broker's figure
/// is `hearth up`'s own (the embedded broker and the supervisor).
pub const SERVICE_BASE_MIB: &[(&str, u64)] = &[
    ("broker", 35),
    ("ha", 20),
    ("audio", 20),
    ("wake", 75),
    ("listen", 56),
    ("asr", 60),
    ("brain", 20),
    ("timers", 18),
    ("tools", 20),
    ("tts", 60),
    ("llm", 60),
];

/// The language model also needs its context (KV cache) and compute buffers: a quarter of the weights
/// is a fair allowance for Hearth's one 4096-token slot.
const LLM_CONTEXT_SHARE: f64 = 0.25;
/// What to leave to the operating system and page cache.
const HEADROOM: f64 = 0.15;

/// One service's estimate.
#[derive(Debug, Clone, PartialEq)]
pub struct Need {
    pub service: String,
    pub bytes: u64,
    /// The weight files counted, present ones only.
    pub weights: Vec<PathBuf>,
}

/// What each of `services` needs: its own memory plus its model files (`path_of` gives each model's
/// path, the configured one or the default).
pub fn needs(services: &[String], path_of: impl Fn(&crate::files::ModelFile) -> PathBuf) -> Vec<Need> {
    services
        .iter()
        .map(|service| {
            let base = SERVICE_BASE_MIB.iter().find(|(s, _)| s == service).map_or(20, |(_, mib)| *mib) << 20;
            let weights: Vec<PathBuf> =
                MODEL_FILES.iter().filter(|m| m.service == service).map(&path_of).filter(|p| p.is_file()).collect();
            let weight_bytes: u64 = weights.iter().map(|p| size(p)).sum();
            let context = if service == "llm" { (weight_bytes as f64 * LLM_CONTEXT_SHARE) as u64 } else { 0 };
            Need { service: service.clone(), bytes: base + weight_bytes + context, weights }
        })
        .collect()
}

fn size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// Fails when the estimate does not fit in `total_bytes` less the headroom, naming the biggest needs.
pub fn check_memory(needs: &[Need], total_bytes: u64) -> Check {
    let sum: u64 = needs.iter().map(|n| n.bytes).sum();
    let usable = (total_bytes as f64 * (1.0 - HEADROOM)) as u64;
    let mut biggest: Vec<&Need> = needs.iter().collect();
    biggest.sort_by_key(|n| std::cmp::Reverse(n.bytes));
    let top: Vec<String> = biggest.iter().take(3).map(|n| format!("{} {}", n.service, human_size(n.bytes))).collect();
    let detail = format!("about {} for these services ({}), of {} in this machine", human_size(sum), top.join(", "), human_size(total_bytes));
    if sum <= usable {
        Check::ok("memory", detail)
    } else {
        let heaviest = biggest.first().map(|n| n.service.as_str()).unwrap_or("llm");
        Check::fail(
            "memory",
            format!("{detail}: they will not fit"),
            format!("run {heaviest} on another node (see deploy/ for the cluster roles) or pick a smaller model for it"),
        )
    }
}

/// `MemTotal` from `/proc/meminfo`, in bytes.
pub fn total_memory(meminfo: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(meminfo).ok()?;
    let kb: u64 = text.lines().find_map(|l| l.strip_prefix("MemTotal:"))?.split_whitespace().next()?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn need(service: &str, mib: u64) -> Need {
        Need { service: service.into(), bytes: mib << 20, weights: vec![] }
    }

    #[test]
    fn a_4b_model_does_not_fit_a_2_gb_board_and_fits_an_8_gb_one() {
        let needs = [need("llm", 3100), need("asr", 140), need("wake", 75)];
        let small = check_memory(&needs, 2 << 30);
        assert_eq!(small.status, crate::Status::Fail, "{small:?}");
        assert!(small.fix.as_deref().unwrap().contains("run llm on another node"), "{small:?}");
        assert_eq!(check_memory(&needs, 8 << 30).status, crate::Status::Ok);
    }

    #[test]
    fn weights_count_and_the_llm_gets_its_context() {
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("llm/Qwen3-4B-Instruct-2507-Q4_K_M.gguf");
        std::fs::create_dir_all(model.parent().unwrap()).unwrap();
        std::fs::write(&model, vec![0u8; 4 << 20]).unwrap();
        let got = needs(&["llm".into(), "brain".into()], |m| dir.path().join(m.relative));
        assert_eq!(got[0].bytes, (60 << 20) + (4 << 20) + (1 << 20));
        assert_eq!(got[0].weights, [model]);
        assert_eq!(got[1].bytes, 20 << 20);
    }

    #[test]
    fn meminfo_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("meminfo");
        std::fs::write(&path, "MemTotal:       24567808 kB\nMemFree: 1 kB\n").unwrap();
        assert_eq!(total_memory(&path), Some(24_567_808 * 1024));
    }
}
