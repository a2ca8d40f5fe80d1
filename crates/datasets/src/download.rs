//! Getting a dataset file onto disk safely: HTTP downloads with a timeout,
//! retries and a progress bar, and verification of any source file (download
//! or Debian package) before it is installed under its final name.
//!
//! Everything is written to a temporary name in the destination directory and
//! renamed only once verified, so an interrupted run never leaves a file that
//! looks complete.

use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use flate2::read::MultiGzDecoder;
use md5::Md5;
use sha2::{Digest, Sha256};

use crate::idx::is_gzip;
use crate::DatasetError;

/// One file of a dataset and its published checksums.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Resource {
    /// The decompressed file's name, e.g. `train-images-idx3-ubyte`; the
    /// mirrors serve `<file>.gz`.
    pub file: &'static str,
    /// md5 of the `.gz` as torchvision publishes it.
    pub md5: &'static str,
    /// SHA-256 of the decompressed content, where known (it survives recompression).
    pub sha256: Option<&'static str>,
    /// Length of the decompressed content: no more than one byte past it is
    /// written, so a small gzip that inflates to gigabytes fills no disk.
    pub size: u64,
}

/// No mirror file is near this size; a larger body is a misbehaving server.
const MAX_DOWNLOAD_BYTES: u64 = 256 << 20;

/// Download settings: see [`MnistBuilder`](crate::MnistBuilder).
#[derive(Clone, Debug)]
pub(crate) struct Fetcher {
    pub timeout: Duration,
    pub retries: u32,
    pub progress: bool,
}

impl Fetcher {
    /// Fetch `url` (the `.gz` of `resource`) and install it in `dir`, trying
    /// up to `1 + retries` times. A 4xx answer or a checksum mismatch is not
    /// retried: the same mirror would give the same answer.
    pub fn fetch(&self, url: &str, resource: &Resource, dir: &Path) -> Result<(), DatasetError> {
        let mut attempt = 0;
        loop {
            match self.fetch_once(url, resource, dir) {
                Ok(()) => return Ok(()),
                Err(e) if attempt < self.retries && is_transient(&e) => {
                    attempt += 1;
                    if self.progress {
                        eprintln!("{e}; retrying ({attempt}/{})", self.retries);
                    }
                    std::thread::sleep(Duration::from_millis(500) * attempt);
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn fetch_once(&self, url: &str, resource: &Resource, dir: &Path) -> Result<(), DatasetError> {
        let download_err = |message: String| DatasetError::Download {
            url: url.to_string(),
            message,
        };
        // `timeout` bounds each phase and each read, not the whole transfer:
        // a slow but moving download goes on, a stalled one fails.
        let t = Some(self.timeout);
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_resolve(t)
            .timeout_connect(t)
            .timeout_send_request(t)
            .timeout_recv_response(t)
            .timeout_per_read(t)
            .build()
            .into();
        if self.progress {
            eprintln!("Downloading {url}");
        }
        let mut response = agent
            .get(url)
            .call()
            .map_err(|e| download_err(describe(&e)))?;
        let length = response.body().content_length();
        let mut body = response
            .body_mut()
            .with_config()
            .limit(MAX_DOWNLOAD_BYTES)
            .reader();

        let gz_final = dir.join(format!("{}.gz", resource.file));
        remove_stale_parts(&gz_final);
        let gz_temp = temp_name(&gz_final);
        let bar = progress_bar(self.progress, length, resource.file);
        let copied = (|| -> Result<u64, DatasetError> {
            let io_err = |source| DatasetError::Io {
                path: gz_temp.clone(),
                source,
            };
            let mut out = BufWriter::new(File::create(&gz_temp).map_err(io_err)?);
            let mut buf = vec![0u8; 1 << 16];
            let mut total = 0u64;
            loop {
                let n = match body.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        return Err(download_err(format!("stopped after {total} bytes: {e}")))
                    }
                };
                out.write_all(&buf[..n]).map_err(io_err)?;
                total += n as u64;
                if let Some(bar) = &bar {
                    bar.set_position(total);
                }
            }
            out.into_inner()
                .map_err(|e| io_err(e.into_error()))?
                .sync_all()
                .map_err(io_err)?;
            Ok(total)
        })();
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        let result = copied.and_then(|total| match length {
            Some(expected) if total != expected => Err(download_err(format!(
                "truncated: {expected} bytes expected, {total} received"
            ))),
            _ => install(&gz_temp, Path::new(url), resource, dir),
        });
        match result {
            // Keep the verified .gz beside the decompressed file, as torchvision does.
            Ok(()) => fs::rename(&gz_temp, &gz_final).map_err(|source| DatasetError::Io {
                path: gz_final,
                source,
            }),
            Err(e) => {
                let _ = fs::remove_file(&gz_temp);
                Err(e)
            }
        }
    }
}

/// Network trouble is worth another try; a refusal or wrong content is not.
fn is_transient(e: &DatasetError) -> bool {
    match e {
        DatasetError::Download { message, .. } => !message.starts_with("HTTP 4"),
        _ => false,
    }
}

fn describe(e: &ureq::Error) -> String {
    match e {
        ureq::Error::StatusCode(code) => format!("HTTP {code}"),
        other => other.to_string(),
    }
}

fn progress_bar(enabled: bool, length: Option<u64>, name: &str) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if !enabled || !io::stderr().is_terminal() {
        return None;
    }
    let bar = match length {
        Some(n) => indicatif::ProgressBar::new(n),
        None => indicatif::ProgressBar::new_spinner(),
    };
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(name.to_string());
    Some(bar)
}

/// `dir/.name.<pid>.part`: in the same directory, so the final rename is
/// atomic, and per process, so that two installs at once do not share one.
fn temp_name(final_path: &Path) -> PathBuf {
    final_path.with_file_name(format!(
        ".{}.{}.part",
        file_name(final_path),
        std::process::id()
    ))
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Parts untouched for this long are no download's any more: a live one
/// writes every few milliseconds.
const STALE_PART_AGE: Duration = Duration::from_secs(3600);

/// Remove `.name.<pid>.part` files beside `final_path` that a killed download
/// left: not written for [`STALE_PART_AGE`] and, where `/proc` tells which
/// processes live, of a pid that is gone. The age matters because the
/// directory may be shared with processes `/proc` does not show (another
/// host, another PID namespace), whose live parts must stay.
fn remove_stale_parts(final_path: &Path) {
    let Some(Ok(entries)) = final_path.parent().map(fs::read_dir) else {
        return;
    };
    let proc_dir = Path::new("/proc");
    let has_proc = proc_dir.join("self").exists();
    let prefix = format!(".{}.", file_name(final_path));
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(pid) = file_name
            .to_str()
            .and_then(|f| f.strip_prefix(&prefix)?.strip_suffix(".part"))
            .filter(|pid| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let age = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok());
        let old = age.is_some_and(|age| age >= STALE_PART_AGE);
        if old && !(has_proc && proc_dir.join(pid).exists()) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Verify `src` (gzip or raw) against `resource` and install its decompressed
/// content as `dir/<resource.file>`. `src` is accepted if its md5 is the
/// published one, or if the SHA-256 of its content is. Errors about `src`
/// name `origin` (the URL of a download, else `src` itself).
pub(crate) fn install(
    src: &Path,
    origin: &Path,
    resource: &Resource,
    dir: &Path,
) -> Result<(), DatasetError> {
    let final_path = dir.join(resource.file);
    remove_stale_parts(&final_path);
    let temp = temp_name(&final_path);
    let result = decompress_hashing(src, origin, &temp, resource.size).and_then(|(md5, sha256)| {
        if md5 == resource.md5 || Some(sha256.as_str()) == resource.sha256 {
            fs::rename(&temp, &final_path).map_err(|source| DatasetError::Io {
                path: final_path.clone(),
                source,
            })
        } else {
            let expected = match resource.sha256 {
                Some(sha) => format!(
                    "md5 {} of the file or sha256 {sha} of its content",
                    resource.md5
                ),
                None => format!("md5 {}", resource.md5),
            };
            let actual = match resource.sha256 {
                Some(_) => format!("md5 {md5} and sha256 {sha256}"),
                None => format!("md5 {md5}"),
            };
            Err(DatasetError::Checksum {
                path: origin.to_path_buf(),
                expected,
                actual,
            })
        }
    });
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// Copy `src`, decompressed if it is gzip, to `dest`, up to `size + 1`
/// bytes; return the md5 of all of `src` and the SHA-256 of what was
/// written, both in lowercase hex.
fn decompress_hashing(
    src: &Path,
    origin: &Path,
    dest: &Path,
    size: u64,
) -> Result<(String, String), DatasetError> {
    let src_err = |source| DatasetError::Io {
        path: origin.to_path_buf(),
        source,
    };
    let dest_err = |source| DatasetError::Io {
        path: dest.to_path_buf(),
        source,
    };
    let mut input = HashingReader {
        inner: BufReader::with_capacity(1 << 16, File::open(src).map_err(src_err)?),
        md5: Md5::new(),
    };
    let mut magic = Vec::with_capacity(2);
    (&mut input)
        .take(2)
        .read_to_end(&mut magic)
        .map_err(src_err)?;
    let mut output = HashingWriter {
        inner: BufWriter::new(File::create(dest).map_err(dest_err)?),
        sha256: Sha256::new(),
    };
    // One byte past `size` is enough for the checksum to fail.
    let limit = size + 1;
    if is_gzip(&magic) {
        // The two magic bytes were consumed: hand them back in front of the rest.
        let mut decoder = MultiGzDecoder::new(io::Cursor::new(magic).chain(input));
        copy(
            &mut (&mut decoder).take(limit),
            &mut output,
            origin,
            dest,
            true,
        )?;
        input = decoder.into_inner().into_inner().1;
    } else {
        output.write_all(&magic).map_err(dest_err)?;
        let rest = limit.saturating_sub(magic.len() as u64);
        copy(
            &mut (&mut input).take(rest),
            &mut output,
            origin,
            dest,
            false,
        )?;
    }
    // The copy may stop before EOF; the md5 covers the whole file.
    io::copy(&mut input, &mut io::sink()).map_err(src_err)?;
    let file = output
        .inner
        .into_inner()
        .map_err(|e| dest_err(e.into_error()))?;
    file.sync_all().map_err(dest_err)?;
    Ok((hex(&input.md5.finalize()), hex(&output.sha256.finalize())))
}

/// `io::copy` with errors attributed to the right file.
fn copy(
    reader: &mut impl Read,
    writer: &mut impl Write,
    src: &Path,
    dest: &Path,
    gzip: bool,
) -> Result<(), DatasetError> {
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(source) if gzip => {
                return Err(DatasetError::Gzip {
                    path: src.to_path_buf(),
                    source,
                })
            }
            Err(source) => {
                return Err(DatasetError::Io {
                    path: src.to_path_buf(),
                    source,
                })
            }
        };
        writer
            .write_all(&buf[..n])
            .map_err(|source| DatasetError::Io {
                path: dest.to_path_buf(),
                source,
            })?;
    }
}

struct HashingReader<R> {
    inner: R,
    md5: Md5,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.md5.update(&buf[..n]);
        Ok(n)
    }
}

struct HashingWriter<W> {
    inner: W,
    sha256: Sha256,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.sha256.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{gzip, TempDir};

    /// A file that inflates far past the published size: no more than one
    /// byte past it is written (the checksum then fails), and the md5 still
    /// covers the whole file.
    /// A part left by a process that is gone and untouched for an hour is
    /// removed; a recent one (maybe another host's live download), one whose
    /// process runs (this one) and other files' parts are kept.
    #[test]
    fn stale_parts_of_killed_installs_are_removed() {
        let tmp = TempDir::new("stale-parts");
        let final_path = tmp.path().join("train-labels-idx1-ubyte");
        let part = |pid: &str| {
            tmp.path()
                .join(format!(".train-labels-idx1-ubyte.{pid}.part"))
        };
        // Above Linux's pid_max (4194304 at most), so never a live process.
        let (dead_old, dead_recent) = (part("99999998"), part("99999999"));
        let alive_old = part(&std::process::id().to_string());
        let other = tmp.path().join(".t10k-labels-idx1-ubyte.99999997.part");
        let two_hours_ago = std::time::SystemTime::now() - Duration::from_secs(7200);
        for f in [&dead_old, &dead_recent, &alive_old, &other] {
            std::fs::write(f, b"partial").unwrap();
        }
        for f in [&dead_old, &alive_old, &other] {
            File::options()
                .write(true)
                .open(f)
                .unwrap()
                .set_modified(two_hours_ago)
                .unwrap();
        }
        remove_stale_parts(&final_path);
        assert!(!dead_old.exists());
        assert!(dead_recent.exists() && other.exists());
        // Without /proc the pid cannot be checked and the age alone decides.
        assert_eq!(alive_old.exists(), Path::new("/proc/self").exists());
        assert_eq!(temp_name(&final_path), alive_old);
    }

    #[test]
    fn decompression_stops_one_byte_past_the_published_size() {
        let tmp = TempDir::new("install-cap");
        let content: Vec<u8> = (0..1 << 20).map(|i| (i % 251) as u8).collect();
        let (src, dest) = (tmp.path().join("big"), tmp.path().join("out"));
        for file in [gzip(&content), content.clone()] {
            std::fs::write(&src, &file).unwrap();
            let (md5, sha256) = decompress_hashing(&src, &src, &dest, 100).unwrap();
            assert_eq!(std::fs::metadata(&dest).unwrap().len(), 101);
            assert_eq!(md5, hex(&Md5::digest(&file)));
            assert_eq!(sha256, hex(&Sha256::digest(&content[..101])));
        }
    }
}
