//! safetensors checkpoints: PyTorch's file loads, our files are what
//! `safetensors.torch.load_file` expects (checked by parsing the format by
//! hand here, not with the safetensors crate), round trips are bit-identical,
//! and each kind of bad file gets its own error.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use autograd::{Generator, Tensor};
use nn::models::NeuralNetwork;
use nn::{
    load_safetensors, load_safetensors_with_metadata, save_safetensors,
    save_safetensors_with_metadata,
};
use nn::{sequential, BatchNorm1d, CheckpointError, Linear, Module, ReLU, StateDict};
use serde_json::{json, Value};

const PYTORCH_INIT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../reference/fidelity/sgd_seed1_init.safetensors"
);

const TUTORIAL_NAMES: [&str; 6] = [
    "linear_relu_stack.0.weight",
    "linear_relu_stack.0.bias",
    "linear_relu_stack.2.weight",
    "linear_relu_stack.2.bias",
    "linear_relu_stack.4.weight",
    "linear_relu_stack.4.bias",
];

/// A fresh directory for one test.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nn-checkpoints-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The safetensors format, read by hand: an 8-byte little-endian header
/// length, a JSON header, then the data.
fn parse(bytes: &[u8]) -> (serde_json::Map<String, Value>, &[u8]) {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: Value = serde_json::from_slice(&bytes[8..8 + n]).expect("header is JSON");
    (header.as_object().unwrap().clone(), &bytes[8 + n..])
}

/// A safetensors file made by hand: tensors as (name, dtype, shape, raw bytes).
fn handmade(tensors: &[(&str, &str, Vec<usize>, Vec<u8>)]) -> Vec<u8> {
    let mut header = serde_json::Map::new();
    let mut data = Vec::new();
    for (name, dtype, shape, bytes) in tensors {
        let offsets = [data.len(), data.len() + bytes.len()];
        header.insert(
            name.to_string(),
            json!({"dtype": dtype, "shape": shape, "data_offsets": offsets}),
        );
        data.extend_from_slice(bytes);
    }
    let header = serde_json::to_vec(&header).unwrap();
    let mut file = (header.len() as u64).to_le_bytes().to_vec();
    file.extend(header);
    file.extend(data);
    file
}

fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn bits(t: &Tensor) -> Vec<u32> {
    t.to_vec().iter().map(|v| v.to_bits()).collect()
}

#[test]
fn pytorch_checkpoint_loads_into_the_tutorial_model() {
    let sd = load_safetensors(PYTORCH_INIT).unwrap();
    let model = NeuralNetwork::new();
    let skipped = model.load_state_dict(&sd, true).unwrap();
    assert_eq!(skipped, Default::default());

    // Compare with the file's bytes read by hand, tensor by tensor.
    let bytes = std::fs::read(PYTORCH_INIT).unwrap();
    let (header, data) = parse(&bytes);
    assert_eq!(header.len(), 6);
    for (name, p) in model.named_parameters() {
        let info = &header[&name];
        assert_eq!(info["dtype"], "F32");
        let shape: Vec<usize> = serde_json::from_value(info["shape"].clone()).unwrap();
        assert_eq!(shape, p.shape(), "{name}");
        let [start, end]: [usize; 2] =
            serde_json::from_value(info["data_offsets"].clone()).unwrap();
        assert_eq!(
            p.with_data(|d| d.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>()),
            data[start..end]
        );
        // PyTorch's init: U(-1/sqrt(in), 1/sqrt(in)).
        let bound = 1.0
            / (if name.starts_with("linear_relu_stack.0") {
                784f32
            } else {
                512f32
            })
            .sqrt();
        assert!(p.to_vec().iter().all(|v| v.abs() <= bound), "{name}");
    }
    let logits = model.forward(&Tensor::zeros(&[2, 1, 28, 28]));
    assert_eq!(logits.shape(), [2, 10]);
}

#[test]
fn saved_file_is_what_pytorch_reads() {
    let dir = scratch("header");
    let path = dir.join("model.safetensors");
    let model = NeuralNetwork::new();
    save_safetensors(&path, &model.state_dict()).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    assert_eq!((8 + n) % 8, 0, "data starts 8-byte aligned");
    let (header, data) = parse(&bytes);
    let mut keys: Vec<&String> = header.keys().collect();
    keys.sort();
    let mut want = TUTORIAL_NAMES.to_vec();
    want.sort();
    assert_eq!(
        keys, want,
        "no __metadata__ when there is none, and PyTorch's names"
    );
    // Offsets tile the data exactly; every tensor is little-endian F32 with its [out, in] shape.
    let mut spans = Vec::new();
    for (name, p) in model.named_parameters() {
        let info = header[&name].as_object().unwrap();
        assert_eq!(info.len(), 3, "{name}: only dtype, shape, data_offsets");
        assert_eq!(info["dtype"], "F32", "{name}");
        assert_eq!(info["shape"], json!(p.shape()), "{name}");
        let [start, end]: [usize; 2] =
            serde_json::from_value(info["data_offsets"].clone()).unwrap();
        assert_eq!(end - start, 4 * p.numel());
        assert_eq!(data[start..end], f32_bytes(&p.to_vec()), "{name}");
        spans.push((start, end));
    }
    spans.sort();
    assert_eq!(spans[0].0, 0);
    assert!(spans.windows(2).all(|w| w[0].1 == w[1].0));
    assert_eq!(spans.last().unwrap().1, data.len());
    // Only the checkpoint is left in the directory: no temporary file.
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
}

#[test]
fn round_trip_is_bit_identical_with_buffers_and_metadata() {
    let dir = scratch("roundtrip");
    let path = dir.join("ckpt.safetensors");
    let mut g = Generator::new(9);
    let model = sequential![
        Linear::with_generator(5, 4, true, &mut g),
        BatchNorm1d::new(4),
        ReLU
    ];
    model.forward(&Tensor::rand_normal(&[6, 5], 0.0, 1.0, &mut g)); // moves the running stats
    let meta = BTreeMap::from([
        ("optimizer".to_string(), "sgd".to_string()),
        ("step".to_string(), "42".to_string()),
    ]);
    save_safetensors_with_metadata(&path, &model.state_dict(), &meta).unwrap();

    let (sd, got_meta) = load_safetensors_with_metadata(&path).unwrap();
    assert_eq!(got_meta, meta);
    let fresh = sequential![Linear::new(5, 4), BatchNorm1d::new(4), ReLU];
    fresh.load_state_dict(&sd, true).unwrap();
    let (a, b) = (model.state_dict(), fresh.state_dict());
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for ((name, x), (_, y)) in a.iter().zip(b.iter()) {
        assert_eq!(x.shape(), y.shape(), "{name}");
        assert_eq!(bits(x), bits(y), "{name}");
    }
    assert_eq!(b.get("1.num_batches_tracked").unwrap().item(), 1.0);
    // The header carries the metadata as PyTorch's safetensors writes it, and
    // PyTorch's dtypes: I64 for BatchNorm's counter (its 8 bytes hold 1).
    let bytes = std::fs::read(&path).unwrap();
    let (header, data) = parse(&bytes);
    assert_eq!(
        header["__metadata__"],
        json!({"optimizer": "sgd", "step": "42"})
    );
    let counter = header["1.num_batches_tracked"].as_object().unwrap();
    assert_eq!(
        (&counter["dtype"], &counter["shape"]),
        (&json!("I64"), &json!([]))
    );
    let [start, end]: [usize; 2] = serde_json::from_value(counter["data_offsets"].clone()).unwrap();
    assert_eq!(data[start..end], 1i64.to_le_bytes());
    assert_eq!(header["1.running_var"]["dtype"], "F32");
    // Saving again replaces the file.
    save_safetensors(&path, &fresh.state_dict()).unwrap();
    assert!(load_safetensors_with_metadata(&path).unwrap().1.is_empty());
}

#[test]
fn missing_key_and_wrong_shape_are_their_own_errors() {
    let dir = scratch("keys");
    let full = load_safetensors(PYTORCH_INIT).unwrap();
    let model = NeuralNetwork::new();

    let without_bias: StateDict = full
        .clone()
        .into_iter()
        .filter(|(n, _)| n != "linear_relu_stack.4.bias")
        .collect();
    let path = dir.join("missing.safetensors");
    save_safetensors(&path, &without_bias).unwrap();
    let err = model
        .load_state_dict(&load_safetensors(&path).unwrap(), true)
        .unwrap_err();
    assert!(
        matches!(&err, CheckpointError::IncompatibleStateDict { missing, .. } if missing == &["linear_relu_stack.4.bias"])
    );
    assert_eq!(
        err.to_string(),
        "missing key(s) in state_dict: \"linear_relu_stack.4.bias\""
    );

    let mut wrong = full.clone();
    wrong.insert("linear_relu_stack.4.weight", Tensor::zeros(&[512, 10]));
    let path = dir.join("shape.safetensors");
    save_safetensors(&path, &wrong).unwrap();
    let err = model
        .load_state_dict(&load_safetensors(&path).unwrap(), true)
        .unwrap_err();
    assert!(
        matches!(&err, CheckpointError::IncompatibleStateDict { mismatched, .. } if mismatched[0].key == "linear_relu_stack.4.weight")
    );
    assert_eq!(
        err.to_string(),
        "size mismatch for linear_relu_stack.4.weight: copying a tensor of shape [512, 10] from the checkpoint, \
         the shape in the current model is [10, 512]"
    );

    let mut extra = full;
    extra.insert("linear_relu_stack.6.weight", Tensor::zeros(&[1]));
    assert!(matches!(
        model.load_state_dict(&extra, true),
        Err(CheckpointError::IncompatibleStateDict { .. })
    ));
}

#[test]
fn missing_file_is_not_found() {
    let path = scratch("missing").join("nope.safetensors");
    let err = load_safetensors(&path).unwrap_err();
    assert!(matches!(&err, CheckpointError::NotFound { path: p } if p == &path));
    assert!(
        err.to_string().contains("nope.safetensors does not exist"),
        "{err}"
    );
}

fn expect_format_error(path: &Path, what: &str) {
    match load_safetensors(path) {
        Err(CheckpointError::Format { path: p, .. }) => assert_eq!(p, path),
        other => panic!("{what}: expected a format error, got {other:?}"),
    }
}

#[test]
fn truncated_files_are_format_errors() {
    let dir = scratch("truncated");
    let good = std::fs::read(PYTORCH_INIT).unwrap();
    let n = u64::from_le_bytes(good[..8].try_into().unwrap()) as usize;
    let path = dir.join("cut.safetensors");
    for len in [
        0,
        3,
        8,
        9,
        8 + n / 2,
        8 + n,
        8 + n + 100,
        good.len() / 2,
        good.len() - 1,
    ] {
        std::fs::write(&path, &good[..len]).unwrap();
        expect_format_error(&path, &format!("cut at {len} bytes"));
    }
    // One byte too many is corrupt too (the data must cover the file exactly).
    let mut longer = good.clone();
    longer.push(0);
    std::fs::write(&path, &longer).unwrap();
    expect_format_error(&path, "trailing byte");
    let err = load_safetensors(&path).unwrap_err().to_string();
    assert!(
        err.contains("cut.safetensors is not a valid safetensors file"),
        "{err}"
    );
}

#[test]
fn random_bytes_are_errors_never_panics() {
    let dir = scratch("random");
    let path = dir.join("noise.safetensors");
    let mut g = Generator::new(2024);
    for i in 0..300 {
        let len = g.below(600) as usize;
        let mut bytes: Vec<u8> = (0..len).map(|_| g.next_u64() as u8).collect();
        // Half the time, a plausible header length so that the JSON parser
        // and the offset checks see the noise, not just the length check.
        if i % 2 == 0 && len >= 8 {
            bytes[..8].copy_from_slice(&(g.below(len as u64 - 7)).to_le_bytes());
        }
        std::fs::write(&path, &bytes).unwrap();
        assert!(load_safetensors(&path).is_err(), "random file {i} loaded");
    }
    // Corrupt headers that parse as JSON: bad offsets, a dtype that does not exist, shape/size mismatch.
    let bad_headers = [
        handmade(&[("w", "F32", vec![2], f32_bytes(&[1.0]))]),
        handmade(&[("w", "F99", vec![1], f32_bytes(&[1.0]))]),
        b"\x02\x00\x00\x00\x00\x00\x00\x00[]".to_vec(),
        b"\x0c\x00\x00\x00\x00\x00\x00\x00{\"w\": 1.5 }".to_vec(),
    ];
    for (i, bytes) in bad_headers.iter().enumerate() {
        std::fs::write(&path, bytes).unwrap();
        expect_format_error(&path, &format!("bad header {i}"));
    }
}

#[test]
fn dtypes_convert_to_f32_or_are_refused() {
    let dir = scratch("dtypes");
    let path = dir.join("dtypes.safetensors");
    let f16: Vec<u8> = [0x3c00u16, 0xc000, 0x3555]
        .iter()
        .flat_map(|h| h.to_le_bytes())
        .collect(); // 1, -2, 0.33325195
    let bf16: Vec<u8> = [0x3f80u16, 0xc040]
        .iter()
        .flat_map(|h| h.to_le_bytes())
        .collect(); // 1, -3
    let f64s: Vec<u8> = [0.1f64, -1e-3]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let i64s: Vec<u8> = 7i64.to_le_bytes().to_vec(); // PyTorch's num_batches_tracked
    std::fs::write(
        &path,
        handmade(&[
            ("half", "F16", vec![3], f16),
            ("brain", "BF16", vec![2], bf16),
            ("double", "F64", vec![2, 1], f64s),
            ("count", "I64", vec![], i64s),
        ]),
    )
    .unwrap();
    let sd = load_safetensors(&path).unwrap();
    assert_eq!(
        sd.get("half").unwrap().to_vec(),
        vec![1.0, -2.0, 0.333_251_95]
    );
    assert_eq!(sd.get("brain").unwrap().to_vec(), vec![1.0, -3.0]);
    assert_eq!(sd.get("double").unwrap().to_vec(), vec![0.1f32, -1e-3f32]);
    assert_eq!(sd.get("double").unwrap().shape(), [2, 1]);
    assert_eq!(sd.get("count").unwrap().shape(), [] as [usize; 0]);
    assert_eq!(sd.get("count").unwrap().item(), 7.0);

    std::fs::write(&path, handmade(&[("pixels", "U8", vec![2], vec![1, 2])])).unwrap();
    let err = load_safetensors(&path).unwrap_err();
    assert!(
        matches!(&err, CheckpointError::UnsupportedDtype { key, dtype, .. } if key == "pixels" && dtype == "U8")
    );
    assert!(
        err.to_string().contains("tensor \"pixels\" has dtype U8"),
        "{err}"
    );

    std::fs::write(
        &path,
        handmade(&[("big", "I64", vec![1], (1i64 << 40).to_le_bytes().to_vec())]),
    )
    .unwrap();
    assert!(matches!(
        load_safetensors(&path),
        Err(CheckpointError::OutOfF32Range { .. })
    ));
    // i64::MIN too (its absolute value overflowed an i64: a panic in debug builds).
    std::fs::write(
        &path,
        handmade(&[("min", "I64", vec![1], i64::MIN.to_le_bytes().to_vec())]),
    )
    .unwrap();
    assert!(matches!(
        load_safetensors(&path),
        Err(CheckpointError::OutOfF32Range { .. })
    ));
}

#[test]
fn saving_into_a_missing_directory_is_an_io_error() {
    let path = scratch("nodir").join("no/such/dir/model.safetensors");
    let err = save_safetensors(&path, &NeuralNetwork::new().state_dict()).unwrap_err();
    assert!(
        matches!(
            &err,
            CheckpointError::Io {
                action: "write",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().starts_with("cannot write checkpoint"),
        "{err}"
    );
}
