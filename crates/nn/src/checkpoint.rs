//! Checkpoints as `.safetensors` files, the format of PyTorch's
//! `safetensors.torch.save_file` / `load_file`, and the one error type of
//! checkpoints and state dicts.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use autograd::Tensor;
use safetensors::{Dtype, SafeTensorError, SafeTensors, View};

use crate::StateDict;

/// Why a checkpoint could not be read, written or loaded into a module.
#[derive(Debug)]
pub enum CheckpointError {
    /// The file does not exist.
    NotFound {
        /// The path that was asked for.
        path: PathBuf,
    },
    /// Reading or writing failed (`action` is "read" or "write").
    Io {
        /// The checkpoint's path.
        path: PathBuf,
        /// `"read"` (on load) or `"write"` (on save).
        action: &'static str,
        /// The underlying I/O error.
        source: io::Error,
    },
    /// Not a valid safetensors file: truncated, corrupt header, bad offsets…
    Format {
        /// The checkpoint's path.
        path: PathBuf,
        /// The safetensors crate's error, from parsing on load or serializing on save.
        source: SafeTensorError,
    },
    /// A tensor of a dtype that is not converted to f32 (BOOL, U8, F8, …).
    UnsupportedDtype {
        /// The checkpoint's path.
        path: PathBuf,
        /// The tensor's name in the file.
        key: String,
        /// The tensor's safetensors dtype, as it prints (`"BOOL"`, `"U8"`, …).
        dtype: String,
    },
    /// A value that f32 cannot hold: an F64 beyond f32's range, or an
    /// integer beyond 2^24 (not exact in f32).
    OutOfF32Range {
        /// The checkpoint's path.
        path: PathBuf,
        /// The tensor's name in the file.
        key: String,
        /// The tensor's safetensors dtype: `"F64"`, `"I32"` or `"I64"`.
        dtype: String,
        /// The tensor's first value that does not fit, as f64.
        value: f64,
    },
    /// `load_state_dict`: what does not fit the module, all of it at once,
    /// as PyTorch reports it. Missing and unexpected keys are errors of a
    /// strict load only; a shape that differs always is.
    IncompatibleStateDict {
        /// The module's keys that the state dict lacks.
        missing: Vec<String>,
        /// The state dict's keys that the module lacks.
        unexpected: Vec<String>,
        /// Keys of both whose shapes differ.
        mismatched: Vec<ShapeMismatch>,
    },
}

/// A tensor of a state dict whose shape differs from the module's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeMismatch {
    /// The tensor's state dict key (`"0.weight"`, …).
    pub key: String,
    /// The module's shape.
    pub expected: Vec<usize>,
    /// The state dict's shape.
    pub found: Vec<usize>,
}

impl fmt::Display for CheckpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use CheckpointError::*;
        let quoted = |keys: &[String]| {
            keys.iter()
                .map(|k| format!("{k:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self {
            NotFound { path } => write!(f, "checkpoint {} does not exist", path.display()),
            Io {
                path,
                action,
                source,
            } => {
                write!(f, "cannot {action} checkpoint {}: {source}", path.display())
            }
            Format { path, source } => {
                write!(
                    f,
                    "{} is not a valid safetensors file: {source}",
                    path.display()
                )
            }
            UnsupportedDtype { path, key, dtype } => write!(
                f,
                "{}: tensor {key:?} has dtype {dtype}, which cannot be loaded \
                 (F32 is loaded as is; F16, BF16, F64, I32 and I64 are converted to f32)",
                path.display()
            ),
            OutOfF32Range {
                path,
                key,
                dtype,
                value,
            } => write!(
                f,
                "{}: tensor {key:?} of dtype {dtype} holds {value}, which f32 cannot represent \
                 (integers up to 2^24, finite values up to {:e})",
                path.display(),
                f32::MAX
            ),
            IncompatibleStateDict {
                missing,
                unexpected,
                mismatched,
            } => {
                // PyTorch's order: missing keys, unexpected keys, then each size mismatch.
                let mut parts = Vec::new();
                if !missing.is_empty() {
                    parts.push(format!("missing key(s) in state_dict: {}", quoted(missing)));
                }
                if !unexpected.is_empty() {
                    parts.push(format!(
                        "unexpected key(s) in state_dict: {}",
                        quoted(unexpected)
                    ));
                }
                for ShapeMismatch {
                    key,
                    expected,
                    found,
                } in mismatched
                {
                    parts.push(format!(
                        "size mismatch for {key}: copying a tensor of shape {found:?} from the \
                         checkpoint, the shape in the current model is {expected:?}"
                    ));
                }
                write!(f, "{}", parts.join("; "))
            }
        }
    }
}

impl std::error::Error for CheckpointError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CheckpointError::Io { source, .. } => Some(source),
            CheckpointError::Format { source, .. } => Some(source),
            _ => None,
        }
    }
}

// ------------------------------------------------------------------ saving

/// Save `state_dict` to `path` as safetensors: F32 tensors under their names,
/// little-endian, row-major, which `safetensors.torch.load_file` reads;
/// BatchNorm's `num_batches_tracked` as I64, its dtype in PyTorch.
///
/// The file is written to a temporary file in the same directory, synced,
/// then renamed over `path`, so a crash never leaves a partial checkpoint.
///
/// ```
/// use nn::{Linear, Module};
/// let path = std::env::temp_dir().join(format!("doc-{}.safetensors", std::process::id()));
/// let layer = Linear::new(3, 2);
/// nn::save_safetensors(&path, &layer.state_dict()).unwrap();
/// let loaded = nn::load_safetensors(&path).unwrap();
/// assert_eq!(loaded.get("weight").unwrap().to_vec(), layer.weight().to_vec());
/// # std::fs::remove_file(&path).unwrap();
/// ```
pub fn save_safetensors(
    path: impl AsRef<Path>,
    state_dict: &StateDict,
) -> Result<(), CheckpointError> {
    save_safetensors_with_metadata(path, state_dict, &BTreeMap::new())
}

/// As [`save_safetensors`], with string metadata in the file's
/// `__metadata__` map (omitted when empty).
pub fn save_safetensors_with_metadata(
    path: impl AsRef<Path>,
    state_dict: &StateDict,
    metadata: &BTreeMap<String, String>,
) -> Result<(), CheckpointError> {
    let path = path.as_ref();
    let tensors = state_dict.iter().map(|(name, t)| {
        let shape = t.shape().to_vec();
        let counter = crate::batchnorm::is_batch_counter(name);
        let as_i64 = t.with_data(|d| {
            d.iter()
                .map(|&v| (v.fract() == 0.0 && v.abs() < 2f32.powi(63)).then_some(v as i64))
                .collect::<Option<Vec<i64>>>()
        });
        let bytes = match as_i64 {
            // PyTorch's dtype for BatchNorm's counter, so that the file's
            // dtypes are those of the model's state_dict.
            Some(counts) if counter => TensorBytes {
                dtype: Dtype::I64,
                shape,
                bytes: counts.iter().flat_map(|v| v.to_le_bytes()).collect(),
            },
            _ => TensorBytes {
                dtype: Dtype::F32,
                shape,
                bytes: t.with_data(|d| d.iter().flat_map(|v| v.to_le_bytes()).collect()),
            },
        };
        (name.to_string(), bytes)
    });
    let info: Option<HashMap<String, String>> = (!metadata.is_empty()).then(|| {
        metadata
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    });
    let bytes =
        safetensors::serialize(tensors, info).map_err(|source| CheckpointError::Format {
            path: path.to_path_buf(),
            source,
        })?;
    write_atomically(path, &bytes).map_err(|source| CheckpointError::Io {
        path: path.to_path_buf(),
        action: "write",
        source,
    })
}

/// A tensor's bytes, as the safetensors crate wants to see them.
struct TensorBytes {
    dtype: Dtype,
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

impl View for TensorBytes {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.bytes)
    }
    fn data_len(&self) -> usize {
        self.bytes.len()
    }
}

/// Write `bytes` to a temporary file beside `path`, sync it, rename it to `path`.
fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path names no file"))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}-{}",
        name.to_string_lossy(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let written = (|| {
        let mut file = File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written?;
    // Make the rename itself durable; not every platform can open a directory.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

// ------------------------------------------------------------------ loading

/// Load every tensor of a safetensors file (such as one written by PyTorch's
/// `safetensors.torch.save_file`), in file order, as f32.
///
/// F32 is read as is. F16, BF16 and F64 are converted to f32 (F64 values
/// beyond f32's range are an error); I32 and I64 (PyTorch's
/// `num_batches_tracked`) are converted when exact in f32 (|v| ≤ 2^24).
/// Any other dtype is [`CheckpointError::UnsupportedDtype`].
///
/// Errors name the file: [`CheckpointError::NotFound`],
/// [`CheckpointError::Io`], [`CheckpointError::Format`] for a truncated or
/// corrupt file. Never panics on bad bytes.
pub fn load_safetensors(path: impl AsRef<Path>) -> Result<StateDict, CheckpointError> {
    load_safetensors_with_metadata(path).map(|(sd, _)| sd)
}

/// As [`load_safetensors`], also returning the file's `__metadata__` map
/// (empty when it has none).
pub fn load_safetensors_with_metadata(
    path: impl AsRef<Path>,
) -> Result<(StateDict, BTreeMap<String, String>), CheckpointError> {
    let path = path.as_ref();
    let bytes = fs::read(path).map_err(|source| match source.kind() {
        io::ErrorKind::NotFound => CheckpointError::NotFound {
            path: path.to_path_buf(),
        },
        _ => CheckpointError::Io {
            path: path.to_path_buf(),
            action: "read",
            source,
        },
    })?;
    let format = |source| CheckpointError::Format {
        path: path.to_path_buf(),
        source,
    };
    let (_, header) = SafeTensors::read_metadata(&bytes).map_err(format)?;
    let file = SafeTensors::deserialize(&bytes).map_err(format)?;
    let mut state_dict = StateDict::new();
    for key in header.offset_keys() {
        let view = file.tensor(&key).map_err(format)?;
        let values = to_f32(view.dtype(), view.data()).map_err(|bad| {
            let dtype = format!("{:?}", view.dtype());
            match bad {
                None => CheckpointError::UnsupportedDtype {
                    path: path.to_path_buf(),
                    key: key.clone(),
                    dtype,
                },
                Some(value) => CheckpointError::OutOfF32Range {
                    path: path.to_path_buf(),
                    key: key.clone(),
                    dtype,
                    value,
                },
            }
        })?;
        state_dict.insert(key, Tensor::from_vec(values, view.shape()));
    }
    let metadata = header
        .metadata()
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect();
    Ok((state_dict, metadata))
}

/// Little-endian `bytes` of `dtype` as f32: `Err(None)` for an unsupported
/// dtype, `Err(Some(v))` for a value f32 cannot hold.
fn to_f32(dtype: Dtype, bytes: &[u8]) -> Result<Vec<f32>, Option<f64>> {
    // The safetensors crate checked that `bytes` holds exactly shape × size.
    fn words<const N: usize>(bytes: &[u8]) -> impl Iterator<Item = [u8; N]> + '_ {
        bytes
            .chunks_exact(N)
            .map(|c| c.try_into().expect("chunk of N bytes"))
    }
    const EXACT_INT: u64 = 1 << 24;
    let int = |v: i64| {
        // unsigned_abs: i64::MIN has no i64 absolute value (abs overflowed).
        if v.unsigned_abs() <= EXACT_INT {
            Ok(v as f32)
        } else {
            Err(Some(v as f64))
        }
    };
    match dtype {
        Dtype::F32 => Ok(words::<4>(bytes).map(f32::from_le_bytes).collect()),
        Dtype::F16 => Ok(words::<2>(bytes)
            .map(|w| f16_to_f32(u16::from_le_bytes(w)))
            .collect()),
        Dtype::BF16 => Ok(words::<2>(bytes)
            .map(|w| f32::from_bits((u16::from_le_bytes(w) as u32) << 16))
            .collect()),
        Dtype::F64 => words::<8>(bytes)
            .map(f64::from_le_bytes)
            .map(|v| {
                if v.is_finite() && !(v as f32).is_finite() {
                    Err(Some(v))
                } else {
                    Ok(v as f32)
                }
            })
            .collect(),
        Dtype::I32 => words::<4>(bytes)
            .map(|w| int(i32::from_le_bytes(w) as i64))
            .collect(),
        Dtype::I64 => words::<8>(bytes)
            .map(|w| int(i64::from_le_bytes(w)))
            .collect(),
        _ => Err(None),
    }
}

/// IEEE half precision to f32 (exact: every f16 is an f32).
fn f16_to_f32(h: u16) -> f32 {
    let negative = h & 0x8000 != 0;
    let exponent = ((h >> 10) & 0x1f) as u32;
    let mantissa = (h & 0x3ff) as u32;
    let sign = (negative as u32) << 31;
    match exponent {
        // Zero and subnormals: mantissa × 2^-24.
        0 => {
            let v = mantissa as f32 * f32::powi(2.0, -24);
            if negative {
                -v
            } else {
                v
            }
        }
        // Infinities and NaNs keep their payload.
        31 => f32::from_bits(sign | 0x7f80_0000 | (mantissa << 13)),
        _ => f32::from_bits(sign | ((exponent + 127 - 15) << 23) | (mantissa << 13)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_precision_conversions_match_ieee() {
        // Values from the IEEE 754 binary16 tables.
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x3555), 0.333_251_95);
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
        assert_eq!(f16_to_f32(0x0001), 5.960_464_5e-8); // smallest subnormal, 2^-24
        assert_eq!(f16_to_f32(0x0400), 6.103_515_6e-5); // smallest normal, 2^-14
        assert_eq!(f16_to_f32(0x8000).to_bits(), (-0.0f32).to_bits());
        assert_eq!(f16_to_f32(0x7c00), f32::INFINITY);
        assert!(f16_to_f32(0x7e00).is_nan());
        // bfloat16 is the top half of an f32: 0x3f80 is 1.0, 0xc040 is -3.0.
        let bf = to_f32(Dtype::BF16, &[0x80, 0x3f, 0x40, 0xc0]).unwrap();
        assert_eq!(bf, vec![1.0, -3.0]);
    }

    #[test]
    fn integers_convert_only_when_exact() {
        let ok = to_f32(Dtype::I64, &16_777_216i64.to_le_bytes()).unwrap();
        assert_eq!(ok, vec![16_777_216.0]);
        assert_eq!(
            to_f32(Dtype::I64, &16_777_217i64.to_le_bytes()),
            Err(Some(16_777_217.0))
        );
        assert_eq!(
            to_f32(Dtype::F64, &1e300f64.to_le_bytes()),
            Err(Some(1e300))
        );
        assert_eq!(to_f32(Dtype::U8, &[1, 2]), Err(None));
    }
}
