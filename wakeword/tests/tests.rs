//! Integration tests of `hearth-wakeword`: a small training run end to end (held-out voices, Python
//! openwakeword parity, loading by name in Hearth's wake engine), and bad inputs.

mod bad_inputs;
mod full_size;
mod train_small;
mod util;
