//! The IDX format (LeCun's MNIST files): a 4-byte magic `00 00 <type> <ndims>`,
//! `ndims` big-endian u32 dimensions, then the elements, big-endian, row-major.
//!
//! Files may be gzip-compressed; gzip is recognised by its magic bytes `1f 8b`,
//! never by the file name. The reader checks every byte count before it
//! allocates or indexes, so arbitrary bytes give an error, never a panic.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use autograd::Tensor;
use flate2::read::MultiGzDecoder;

use crate::DatasetError;

/// The elements of an IDX file, in the file's own type.
#[derive(Clone, Debug, PartialEq)]
pub enum IdxData {
    /// Type code 0x08: unsigned bytes (MNIST's pixels and labels).
    U8(Vec<u8>),
    /// Type code 0x09: signed bytes.
    I8(Vec<i8>),
    /// Type code 0x0B: 16-bit signed integers.
    I16(Vec<i16>),
    /// Type code 0x0C: 32-bit signed integers.
    I32(Vec<i32>),
    /// Type code 0x0D: 32-bit floats.
    F32(Vec<f32>),
    /// Type code 0x0E: 64-bit floats.
    F64(Vec<f64>),
}

impl IdxData {
    /// The element type's name: `"u8"`, `"i8"`, `"i16"`, `"i32"`, `"f32"` or `"f64"`.
    pub fn element_type(&self) -> &'static str {
        match self {
            IdxData::U8(_) => "u8",
            IdxData::I8(_) => "i8",
            IdxData::I16(_) => "i16",
            IdxData::I32(_) => "i32",
            IdxData::F32(_) => "f32",
            IdxData::F64(_) => "f64",
        }
    }
}

/// A decoded IDX file: its dimensions and its elements (row-major).
#[derive(Clone, Debug, PartialEq)]
pub struct IdxArray {
    /// The dimensions from the header, outermost first (e.g. `[N, 28, 28]`).
    pub dims: Vec<usize>,
    /// The elements, row-major, `dims.iter().product()` of them.
    pub data: IdxData,
}

impl IdxArray {
    /// Number of elements (the product of `dims`).
    pub fn numel(&self) -> usize {
        self.dims.iter().product()
    }

    /// The values as an f32 tensor of shape `dims`, unscaled (a u8 255 stays
    /// 255.0; i32 beyond 2^24 and f64 round to the nearest f32).
    pub fn to_tensor(&self) -> Tensor {
        let values: Vec<f32> = match &self.data {
            IdxData::U8(v) => v.iter().map(|&x| x as f32).collect(),
            IdxData::I8(v) => v.iter().map(|&x| x as f32).collect(),
            IdxData::I16(v) => v.iter().map(|&x| x as f32).collect(),
            IdxData::I32(v) => v.iter().map(|&x| x as f32).collect(),
            IdxData::F32(v) => v.clone(),
            IdxData::F64(v) => v.iter().map(|&x| x as f32).collect(),
        };
        Tensor::from_vec(values, &self.dims)
    }
}

/// Read an IDX file, raw or gzip-compressed.
///
/// ```no_run
/// let labels = datasets::read_idx("data/FashionMNIST/raw/t10k-labels-idx1-ubyte.gz")?;
/// assert_eq!(labels.dims, vec![10000]);
/// # Ok::<(), datasets::DatasetError>(())
/// ```
pub fn read_idx(path: impl AsRef<Path>) -> Result<IdxArray, DatasetError> {
    let path = path.as_ref();
    parse_idx(read_bounded(path)?, path)
}

/// IDX element sizes by type code (the magic's third byte).
fn element_size(code: u8) -> Option<u64> {
    match code {
        0x08 | 0x09 => Some(1),
        0x0B => Some(2),
        0x0C | 0x0D => Some(4),
        0x0E => Some(8),
        _ => None,
    }
}

/// The length a file starting with `head` must have by its header, once the
/// header is complete and valid; `None` before, or if it is not.
fn idx_len(head: &[u8]) -> Option<u64> {
    let (magic, rest) = head.split_first_chunk::<4>()?;
    let header = 4 + 4 * magic[3] as usize;
    if magic[..2] != [0, 0] || head.len() < header {
        return None;
    }
    total_len(
        element_size(magic[2])?,
        be_dims(&rest[..header - 4]),
        header,
    )
}

/// The header's dimensions: big-endian u32s.
fn be_dims(bytes: &[u8]) -> impl Iterator<Item = u64> + '_ {
    bytes
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as u64)
}

/// Header plus elements, in bytes; `None` past u64 or usize (checked: a
/// hostile header must not overflow into a small size).
fn total_len(element_size: u64, mut dims: impl Iterator<Item = u64>, header: usize) -> Option<u64> {
    dims.try_fold(element_size, |acc, d| acc.checked_mul(d))
        .and_then(|n| n.checked_add(header as u64))
        .filter(|&n| usize::try_from(n).is_ok())
}

/// Decode IDX bytes already in memory (decompressed); `path` only names the
/// source in errors. Takes the buffer so that u8 data is not copied.
pub fn parse_idx(mut bytes: Vec<u8>, path: &Path) -> Result<IdxArray, DatasetError> {
    let actual = bytes.len() as u64;
    let truncated = |expected: u64| DatasetError::Truncated {
        path: path.to_path_buf(),
        expected,
        actual,
    };
    if bytes.len() < 4 {
        return Err(truncated(4));
    }
    let magic = [bytes[0], bytes[1], bytes[2], bytes[3]];
    if magic[0] != 0 || magic[1] != 0 {
        return Err(DatasetError::BadMagic {
            path: path.to_path_buf(),
            magic,
        });
    }
    let Some(element_size) = element_size(magic[2]) else {
        return Err(DatasetError::UnsupportedType {
            path: path.to_path_buf(),
            code: magic[2],
        });
    };
    let ndims = magic[3] as usize;
    let header = 4 + 4 * ndims;
    if bytes.len() < header {
        return Err(truncated(header as u64));
    }
    let dims: Vec<u64> = be_dims(&bytes[4..header]).collect();
    let expected = total_len(element_size, dims.iter().copied(), header).ok_or_else(|| {
        DatasetError::TooLarge {
            path: path.to_path_buf(),
            dims: dims.clone(),
        }
    })?;
    if actual < expected {
        return Err(truncated(expected));
    }
    if actual > expected {
        return Err(DatasetError::TrailingBytes {
            path: path.to_path_buf(),
            expected,
            actual: Some(actual),
        });
    }
    let body = &bytes[header..];
    let data = match magic[2] {
        0x08 => {
            // Shift the pixels to the front in place: no second 47 MB buffer.
            bytes.copy_within(header.., 0);
            bytes.truncate(bytes.len() - header);
            IdxData::U8(bytes)
        }
        0x09 => IdxData::I8(body.iter().map(|&b| b as i8).collect()),
        0x0B => IdxData::I16(
            body.chunks_exact(2)
                .map(|c| i16::from_be_bytes([c[0], c[1]]))
                .collect(),
        ),
        0x0C => IdxData::I32(
            body.chunks_exact(4)
                .map(|c| i32::from_be_bytes(c.try_into().unwrap()))
                .collect(),
        ),
        0x0D => IdxData::F32(
            body.chunks_exact(4)
                .map(|c| f32::from_be_bytes(c.try_into().unwrap()))
                .collect(),
        ),
        _ => IdxData::F64(
            body.chunks_exact(8)
                .map(|c| f64::from_be_bytes(c.try_into().unwrap()))
                .collect(),
        ),
    };
    // Lossless: `expected` fitted in usize above.
    let dims = dims.into_iter().map(|d| d as usize).collect();
    Ok(IdxArray { dims, data })
}

/// True when `bytes` start with gzip's magic number.
pub(crate) fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// The content of `path`, decompressed if it is gzip, read no further than
/// its IDX header says the file goes: the magic, the dimensions it announces,
/// then the elements. A file with more is a `TrailingBytes` error as soon as
/// the first byte too many is read, so a small gzip that inflates to
/// gigabytes is never held in memory. An incomplete or invalid header stops
/// the reading there, and `parse_idx` reports it.
fn read_bounded(path: &Path) -> Result<Vec<u8>, DatasetError> {
    let io_err = |source| DatasetError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(io_err)?;
    let len = file.metadata().map_err(io_err)?.len();
    let mut magic = [0u8; 2];
    let got = read_up_to(&mut file, &mut magic).map_err(io_err)?;
    let gzip = is_gzip(&magic[..got]);
    // How much to reserve once the header is read: at most what the file can
    // hold. gzip's last 4 bytes hold the decompressed size mod 2^32, bounded
    // by deflate's best ratio (about 1032:1) and 1 GiB since the file may lie.
    let mut hint = len;
    if gzip {
        hint = 0;
        if len >= 18 {
            let mut size = [0u8; 4];
            file.seek(SeekFrom::End(-4)).map_err(io_err)?;
            file.read_exact(&mut size).map_err(io_err)?;
            hint = (u32::from_le_bytes(size) as u64)
                .min(len.saturating_mul(1032))
                .min(1 << 30);
        }
    }
    file.seek(SeekFrom::Start(0)).map_err(io_err)?;
    let mut reader: Box<dyn Read> = if gzip {
        Box::new(MultiGzDecoder::new(std::io::BufReader::with_capacity(
            1 << 16,
            file,
        )))
    } else {
        Box::new(file)
    };
    let (bytes, more) = read_idx_bytes(&mut reader, hint).map_err(|source| match gzip {
        true => DatasetError::Gzip {
            path: path.to_path_buf(),
            source,
        },
        false => io_err(source),
    })?;
    if more {
        return Err(DatasetError::TrailingBytes {
            path: path.to_path_buf(),
            expected: bytes.len() as u64,
            // Known without reading on for a raw file only.
            actual: (!gzip).then_some(len),
        });
    }
    Ok(bytes)
}

/// The bytes of an IDX file from `reader`, up to the length its header
/// gives, and whether there is more (of which one byte is read). Only the
/// header's bytes when it is incomplete or invalid. Reserves at most `hint`
/// bytes.
fn read_idx_bytes(reader: &mut impl Read, hint: u64) -> std::io::Result<(Vec<u8>, bool)> {
    let mut bytes = Vec::new();
    let mut read = |bytes: &mut Vec<u8>, n: u64| reader.take(n).read_to_end(bytes);
    read(&mut bytes, 4)?;
    if bytes.len() == 4 {
        let dims = bytes[3] as u64;
        read(&mut bytes, 4 * dims)?;
    }
    let Some(total) = idx_len(&bytes) else {
        return Ok((bytes, false));
    };
    bytes.reserve(total.min(hint) as usize);
    let rest = total + 1 - bytes.len() as u64;
    read(&mut bytes, rest)?;
    let more = bytes.len() as u64 > total;
    bytes.truncate(total as usize);
    Ok((bytes, more))
}

/// Like `read_exact`, but a short file is not an error: returns how many bytes were read.
fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{gzip, idx_bytes, TempDir};
    use autograd::Generator;

    fn parse(bytes: Vec<u8>) -> Result<IdxArray, DatasetError> {
        parse_idx(bytes, Path::new("mem.idx"))
    }

    #[test]
    fn reads_u8_with_its_dims() {
        let a = parse(idx_bytes(0x08, &[2, 1, 3], &[1, 2, 3, 4, 5, 255])).unwrap();
        assert_eq!(a.dims, vec![2, 1, 3]);
        assert_eq!(a.data, IdxData::U8(vec![1, 2, 3, 4, 5, 255]));
        assert_eq!((a.numel(), a.data.element_type()), (6, "u8"));
        assert_eq!(a.to_tensor().to_vec(), vec![1.0, 2.0, 3.0, 4.0, 5.0, 255.0]);
    }

    #[test]
    fn reads_every_element_type_big_endian() {
        let i8s = parse(idx_bytes(0x09, &[2], &[0xff, 0x7f])).unwrap();
        assert_eq!(i8s.data, IdxData::I8(vec![-1, 127]));
        let i16s = parse(idx_bytes(0x0B, &[2], &[0xff, 0xfe, 0x01, 0x00])).unwrap();
        assert_eq!(i16s.data, IdxData::I16(vec![-2, 256]));
        // -100000 = 0xfffe7960
        let i32s = parse(idx_bytes(0x0C, &[1], &[0xff, 0xfe, 0x79, 0x60])).unwrap();
        assert_eq!(i32s.data, IdxData::I32(vec![-100000]));
        // 1.5f32 = 0x3fc00000
        let f32s = parse(idx_bytes(0x0D, &[1], &[0x3f, 0xc0, 0, 0])).unwrap();
        assert_eq!(f32s.data, IdxData::F32(vec![1.5]));
        // -0.25f64 = 0xbfd0000000000000
        let f64s = parse(idx_bytes(0x0E, &[1, 1], &[0xbf, 0xd0, 0, 0, 0, 0, 0, 0])).unwrap();
        assert_eq!(
            (f64s.dims.clone(), f64s.data.clone()),
            (vec![1, 1], IdxData::F64(vec![-0.25]))
        );
        assert_eq!(f64s.to_tensor().shape(), &[1, 1]);
    }

    #[test]
    fn zero_dims_is_one_element_and_a_zero_dim_is_none() {
        assert_eq!(
            parse(idx_bytes(0x08, &[], &[7])).unwrap().data,
            IdxData::U8(vec![7])
        );
        let empty = parse(idx_bytes(0x0C, &[0, 28, 28], &[])).unwrap();
        assert_eq!(
            (empty.dims, empty.data),
            (vec![0, 28, 28], IdxData::I32(vec![]))
        );
    }

    #[test]
    fn gzip_is_detected_by_content_not_name() {
        let dir = TempDir::new("idx-gzip");
        let bytes = idx_bytes(0x08, &[3], &[9, 8, 7]);
        let gz_named_plain = dir.path().join("labels"); // gzip content, no .gz
        std::fs::write(&gz_named_plain, gzip(&bytes)).unwrap();
        let plain_named_gz = dir.path().join("labels.gz"); // raw content, .gz name
        std::fs::write(&plain_named_gz, &bytes).unwrap();
        for path in [gz_named_plain, plain_named_gz] {
            assert_eq!(
                read_idx(&path).unwrap().data,
                IdxData::U8(vec![9, 8, 7]),
                "{}",
                path.display()
            );
        }
    }

    #[test]
    fn a_concatenated_gzip_is_read_whole() {
        // Multi-member gzip (`cat a.gz b.gz`), as gzip(1) and Python read it.
        let dir = TempDir::new("idx-multigzip");
        let bytes = idx_bytes(0x08, &[4], &[1, 2, 3, 4]);
        let mut two = gzip(&bytes[..10]);
        two.extend(gzip(&bytes[10..]));
        std::fs::write(dir.path().join("f"), two).unwrap();
        assert_eq!(
            read_idx(dir.path().join("f")).unwrap().data,
            IdxData::U8(vec![1, 2, 3, 4])
        );
    }

    #[test]
    fn bad_magic_is_an_error_naming_the_file() {
        let e = parse(vec![0x1f, 0x00, 0x08, 0x01, 0, 0, 0, 0]).unwrap_err();
        assert!(
            matches!(
                e,
                DatasetError::BadMagic {
                    magic: [0x1f, 0, 8, 1],
                    ..
                }
            ),
            "{e:?}"
        );
        let message = e.to_string();
        assert!(
            message.contains("mem.idx") && message.contains("not an IDX file"),
            "{message}"
        );
    }

    #[test]
    fn unsupported_type_is_an_error() {
        let e = parse(idx_bytes(0x0A, &[1], &[0])).unwrap_err();
        assert!(
            matches!(e, DatasetError::UnsupportedType { code: 0x0A, .. }),
            "{e:?}"
        );
        assert!(e.to_string().contains("0x0a"), "{e}");
    }

    #[test]
    fn truncated_data_reports_expected_and_actual_sizes() {
        let e = parse(idx_bytes(0x08, &[2, 2], &[1, 2, 3])).unwrap_err();
        assert!(
            matches!(
                e,
                DatasetError::Truncated {
                    expected: 16,
                    actual: 15,
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(e.to_string().contains("16 bytes expected, 15 found"), "{e}");
        // Wider types count bytes, not elements.
        let e = parse(idx_bytes(0x0E, &[2], &[0; 15])).unwrap_err();
        assert!(
            matches!(
                e,
                DatasetError::Truncated {
                    expected: 24,
                    actual: 23,
                    ..
                }
            ),
            "{e:?}"
        );
    }

    #[test]
    fn truncated_header_is_an_error() {
        let e = parse(vec![0, 0]).unwrap_err();
        assert!(
            matches!(
                e,
                DatasetError::Truncated {
                    expected: 4,
                    actual: 2,
                    ..
                }
            ),
            "{e:?}"
        );
        // Three dims promised, one and a half given.
        let e = parse(vec![0, 0, 8, 3, 0, 0, 0, 1, 0, 0]).unwrap_err();
        assert!(
            matches!(
                e,
                DatasetError::Truncated {
                    expected: 16,
                    actual: 10,
                    ..
                }
            ),
            "{e:?}"
        );
        let e = parse(Vec::new()).unwrap_err();
        assert!(
            matches!(
                e,
                DatasetError::Truncated {
                    expected: 4,
                    actual: 0,
                    ..
                }
            ),
            "{e:?}"
        );
    }

    #[test]
    fn trailing_bytes_are_an_error() {
        let e = parse(idx_bytes(0x08, &[2], &[1, 2, 3])).unwrap_err();
        assert!(
            matches!(
                e,
                DatasetError::TrailingBytes {
                    expected: 10,
                    actual: Some(11),
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(e.to_string().contains("1 trailing bytes"), "{e}");
    }

    /// A header promising 2 bytes, then no end (a gzip bomb's content): the
    /// reading stops one byte past the promise.
    #[test]
    fn reading_stops_where_the_header_says_the_file_ends() {
        let header = idx_bytes(0x08, &[2], &[7, 9]);
        let mut endless = std::io::Cursor::new(header.clone()).chain(std::io::repeat(0));
        let (bytes, more) = read_idx_bytes(&mut endless, u64::MAX).unwrap();
        assert_eq!((bytes, more), (header.clone(), true));
        let (bytes, more) = read_idx_bytes(&mut &header[..], 0).unwrap();
        assert_eq!((bytes, more), (header, false));
        // An invalid header is not followed: parse_idx reports it.
        let (bytes, more) = read_idx_bytes(&mut std::io::repeat(0xFF), 0).unwrap();
        assert_eq!((bytes, more), (vec![0xFF; 4 + 4 * 255], false));
    }

    #[test]
    fn trailing_bytes_of_a_file_are_counted_when_raw() {
        let tmp = TempDir::new("idx-trailing");
        let mut content = idx_bytes(0x08, &[2], &[7, 9]);
        content.extend([0; 1000]);
        let raw = tmp.path().join("raw");
        std::fs::write(&raw, &content).unwrap();
        let e = read_idx(&raw).unwrap_err();
        assert!(
            matches!(
                e,
                DatasetError::TrailingBytes {
                    expected: 10,
                    actual: Some(1010),
                    ..
                }
            ),
            "{e:?}"
        );
        let gz = tmp.path().join("gz");
        std::fs::write(&gz, gzip(&content)).unwrap();
        let e = read_idx(&gz).unwrap_err();
        assert!(
            matches!(
                e,
                DatasetError::TrailingBytes {
                    expected: 10,
                    actual: None,
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(
            e.to_string().contains("the decompressed file holds more"),
            "{e}"
        );
    }

    #[test]
    fn dims_that_overflow_are_an_error_not_an_allocation() {
        let dims = [u32::MAX; 4];
        let e = parse(idx_bytes(0x0E, &dims, &[])).unwrap_err();
        assert!(matches!(e, DatasetError::TooLarge { .. }), "{e:?}");
        // Large but representable: truncated, nothing allocated for it.
        let e = parse(idx_bytes(0x08, &[60000, 28, 28], &[0; 10])).unwrap_err();
        assert!(
            matches!(
                e,
                DatasetError::Truncated {
                    expected: 47040016,
                    actual: 26,
                    ..
                }
            ),
            "{e:?}"
        );
    }

    #[test]
    fn corrupt_gzip_is_an_error_naming_the_file() {
        let dir = TempDir::new("idx-badgzip");
        let gz = gzip(&idx_bytes(0x08, &[100], &[5; 100]));
        // Cut short.
        let cut = dir.path().join("cut.gz");
        std::fs::write(&cut, &gz[..gz.len() - 10]).unwrap();
        let e = read_idx(&cut).unwrap_err();
        assert!(matches!(e, DatasetError::Gzip { .. }), "{e:?}");
        assert!(
            e.to_string().contains("cut.gz") && e.to_string().contains("corrupt gzip"),
            "{e}"
        );
        // A flipped bit in the CRC-32 trailer.
        let mut bad_crc = gz.clone();
        let at = bad_crc.len() - 8;
        bad_crc[at] ^= 1;
        std::fs::write(dir.path().join("crc.gz"), bad_crc).unwrap();
        assert!(matches!(
            read_idx(dir.path().join("crc.gz")),
            Err(DatasetError::Gzip { .. })
        ));
        // Garbage after the gzip member.
        let mut trailing = gz;
        trailing.extend_from_slice(b"garbage!");
        std::fs::write(dir.path().join("trail.gz"), trailing).unwrap();
        assert!(matches!(
            read_idx(dir.path().join("trail.gz")),
            Err(DatasetError::Gzip { .. })
        ));
    }

    #[test]
    fn a_missing_file_is_an_io_error_naming_it() {
        let e = read_idx("/nonexistent/ferrograd/labels-idx1-ubyte").unwrap_err();
        assert!(matches!(e, DatasetError::Io { .. }), "{e:?}");
        assert!(
            e.to_string()
                .contains("/nonexistent/ferrograd/labels-idx1-ubyte"),
            "{e}"
        );
    }

    /// Property: whatever the bytes (random, a valid file cut anywhere, a valid
    /// file with random bytes changed), raw or gzip, reading returns, never panics;
    /// and a strict prefix of a valid raw file is always an error.
    #[test]
    fn random_and_truncated_bytes_never_panic() {
        let dir = TempDir::new("idx-fuzz");
        let mut g = Generator::new(2024);
        let valid: Vec<Vec<u8>> = vec![
            idx_bytes(0x08, &[3, 4, 5], &(0..60).collect::<Vec<u8>>()),
            idx_bytes(0x0B, &[7], &[1; 14]),
            idx_bytes(0x0E, &[2, 2], &[3; 32]),
            idx_bytes(0x0C, &[], &[0, 0, 0, 9]),
        ];
        let path = dir.path().join("fuzz");
        let mut ok = 0;
        for round in 0..3000 {
            let base = &valid[round % valid.len()];
            let bytes: Vec<u8> = match round % 4 {
                0 => {
                    let n = g.below(64) as usize;
                    let mut random: Vec<u8> = (0..n).map(|_| g.below(256) as u8).collect();
                    // Often start like IDX so the parser goes past the magic.
                    if n >= 4 && g.below(2) == 0 {
                        random[0] = 0;
                        random[1] = 0;
                        random[2] = [8, 9, 11, 12, 13, 14][g.below(6) as usize];
                        random[3] = g.below(5) as u8;
                    }
                    random
                }
                1 => {
                    let cut = g.below(base.len() as u64) as usize;
                    let prefix = base[..cut].to_vec();
                    assert!(
                        parse(prefix.clone()).is_err(),
                        "prefix of {cut} bytes accepted"
                    );
                    prefix
                }
                _ => {
                    let mut mutated = base.clone();
                    for _ in 0..=g.below(3) {
                        let at = g.below(mutated.len() as u64) as usize;
                        mutated[at] = g.below(256) as u8;
                    }
                    mutated
                }
            };
            ok += parse(bytes.clone()).is_ok() as usize;
            // The same through a file, gzipped, sometimes with the gzip cut short.
            let mut gz = gzip(&bytes);
            if round % 3 == 0 {
                let cut = g.below(gz.len() as u64) as usize;
                gz.truncate(cut);
            }
            std::fs::write(&path, &gz).unwrap();
            let _ = read_idx(&path);
        }
        assert!(ok > 0, "some mutated files should still be valid");
    }
}
