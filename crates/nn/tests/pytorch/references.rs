//! The files of PyTorch's numbers that the reference tests of autograd, nn
//! and optim read, each test including this file with `#[path]`: the shared
//! reference, and a second file of other cases in its format (made by
//! `pytorch_reference_extra.py`, beside this file).

use serde_json::Value;

/// Each file's path and contents. The paths start from the including crate's
/// manifest, `crates/<name>/`, the same depth for all three.
pub fn references() -> Vec<(&'static str, Value)> {
    const PATHS: [&str; 2] = [
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../reference/pytorch_reference.json"
        ),
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../nn/tests/pytorch/pytorch_reference_extra.json"
        ),
    ];
    PATHS
        .iter()
        .map(|&path| {
            let text =
                std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
            let json = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
            (path, json)
        })
        .collect()
}
