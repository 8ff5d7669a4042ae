//! ONNX Runtime, loaded at run time (ort's `load-dynamic`): one environment per process, shared by every
//! engine that runs ONNX models (wake words here, Silero VAD in `hearth-listen`).
//!
//! ort allows exactly one environment per process and gives no public way to fetch it again, so the
//! first engine to need it builds it here and every later one reuses the same handle.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ort::environment::Environment;
use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;
use ort::value::TensorElementType;
use thiserror::Error;

/// The script that installs the library, named in every "library missing" error.
pub const INSTALL_SCRIPT: &str = "scripts/install-onnxruntime.sh";

#[derive(Debug, Error)]
pub enum OnnxError {
    #[error("cannot load ONNX Runtime from {path}: {why}. Run `{INSTALL_SCRIPT}` (or set ORT_DYLIB_PATH, or `onnxruntime` in the config)")]
    Library { path: PathBuf, why: String },
    #[error("ONNX Runtime environment: {0}")]
    Environment(String),
    #[error("cannot load model {path}: {why}")]
    Model { path: PathBuf, why: String },
    #[error("model {path} does not have the expected interface: {why}")]
    Interface { path: PathBuf, why: String },
    #[error("inference with {model} failed: {why}")]
    Run { model: String, why: String },
}

static ENVIRONMENT: Mutex<Option<Environment>> = Mutex::new(None);

/// The ONNX Runtime library to load: the configured path, else `$ORT_DYLIB_PATH`, else
/// `<data_dir>/lib/libonnxruntime.so` (where the install script puts it).
pub fn library_path(configured: Option<&Path>, data_dir: &Path) -> PathBuf {
    if let Some(p) = configured {
        return p.to_path_buf();
    }
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    data_dir.join("lib").join(if cfg!(target_os = "macos") { "libonnxruntime.dylib" } else { "libonnxruntime.so" })
}

/// The process's ONNX Runtime environment, loading the library from `library` on first use. Later calls
/// return the same environment whatever path they pass (a process holds one runtime).
pub fn environment(library: &Path) -> Result<Environment, OnnxError> {
    let mut slot = ENVIRONMENT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(env) = slot.as_ref() {
        return Ok(env.clone());
    }
    if !library.is_file() {
        return Err(OnnxError::Library { path: library.to_path_buf(), why: "no such file".into() });
    }
    let builder = ort::init_from(library)
        .map_err(|e| OnnxError::Library { path: library.to_path_buf(), why: e.to_string() })?;
    let env = builder
        .with_name("hearth")
        .with_telemetry(false)
        .build()
        .map_err(|e| OnnxError::Environment(e.to_string()))?;
    *slot = Some(env.clone());
    Ok(env)
}

/// Loads `model` for single-threaded, non-spinning inference: the engines run many tiny models per
/// 80 ms on a Raspberry Pi beside other services, where a spinning thread pool only burns CPU.
pub fn session(library: &Path, model: &Path, threads: usize) -> Result<Session, OnnxError> {
    let env = environment(library)?;
    if !model.is_file() {
        return Err(OnnxError::Model { path: model.to_path_buf(), why: "no such file".into() });
    }
    let fail = |e: String| OnnxError::Model { path: model.to_path_buf(), why: e };
    let mut builder = Session::builder(&env)
        .map_err(|e| fail(e.to_string()))?
        .with_optimization_level(GraphOptimizationLevel::All)
        .map_err(|e| fail(e.to_string()))?
        .with_intra_threads(threads.max(1))
        .map_err(|e| fail(e.to_string()))?
        .with_inter_threads(1)
        .map_err(|e| fail(e.to_string()))?
        .with_intra_op_spinning(false)
        .map_err(|e| fail(e.to_string()))?;
    builder.commit_from_file(model).map_err(|e| fail(e.to_string()))
}

/// Name and shape (`-1` for a dynamic axis) of input `index`, checked to be a tensor of `ty`.
pub fn input_info(
    session: &Session,
    path: &Path,
    index: usize,
    ty: TensorElementType,
) -> Result<(String, Vec<i64>), OnnxError> {
    let input = session.inputs().get(index).ok_or_else(|| OnnxError::Interface {
        path: path.to_path_buf(),
        why: format!("expected at least {} inputs, found {}", index + 1, session.inputs().len()),
    })?;
    let dtype = input.dtype();
    match (dtype.tensor_type(), dtype.tensor_shape()) {
        (Some(t), Some(shape)) if t == ty => Ok((input.name().to_string(), shape.to_vec())),
        _ => Err(OnnxError::Interface {
            path: path.to_path_buf(),
            why: format!("input {:?} is {dtype:?}, expected a {ty:?} tensor", input.name()),
        }),
    }
}

/// Shape of output `index` (`-1` for a dynamic axis).
pub fn output_shape(session: &Session, path: &Path, index: usize) -> Result<Vec<i64>, OnnxError> {
    let output = session.outputs().get(index).ok_or_else(|| OnnxError::Interface {
        path: path.to_path_buf(),
        why: format!("expected at least {} outputs", index + 1),
    })?;
    Ok(output.dtype().tensor_shape().map(|s| s.to_vec()).unwrap_or_default())
}
