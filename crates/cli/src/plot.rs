//! Loss and accuracy curves of a run, drawn with plotters.
//!
//! [`draw`] writes one figure with two panels: the training loss of the logged batches with the
//! test loss after each epoch on the left, the test accuracy after each epoch on the right.
//!
//! Everything is pure Rust, with nothing to install: text is laid out and rasterised by
//! `ab_glyph` with Noto Sans embedded from the `ttf-noto-sans` crate (plotters' default `ttf`
//! feature would load system fonts through fontconfig/freetype). A PNG is drawn into a memory
//! buffer and encoded here with `flate2`, which saves building the `image` crate for one encoder.
//! An SVG keeps its text as `<text>` for the viewer to render; plotters still measures it with the
//! embedded font to place it.

use std::fs;
use std::io::Write;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::{anyhow, bail, Context, Result};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// One logged training step: the loss of the batch and how far into the run it was.
#[derive(Clone, Debug)]
pub struct StepPoint {
    /// 1-based epoch.
    pub epoch: u32,
    /// Training samples seen since the start of the run (epochs before this one included).
    pub samples_seen: u64,
    pub loss: f64,
}

/// The test pass after an epoch.
#[derive(Clone, Debug)]
pub struct EpochPoint {
    pub epoch: u32,
    /// Fraction of test images classified correctly, in [0, 1].
    pub accuracy: f64,
    pub avg_loss: f64,
}

/// Size of the PNG in pixels, and of the SVG in its user units.
const SIZE: (u32, u32) = (1000, 450);
const TRAIN_COLOR: RGBColor = RGBColor(31, 119, 180);
const TEST_COLOR: RGBColor = RGBColor(255, 127, 14);
const ACCURACY_COLOR: RGBColor = RGBColor(44, 160, 44);

/// Draws the loss and accuracy curves of a run into `path`, a `.png` or `.svg` file (the
/// extension decides, in any case), of 1000x450 pixels.
///
/// The x axis counts epochs: a step sits at `samples_seen` divided by the number of samples in an
/// epoch, which is read off the data (see `epoch_len`: exact once two epochs are logged; with one,
/// its last logged step is taken as its end); the test pass after epoch `e` sits at `e`. Empty histories give empty axes, so a run that stopped before logging anything still gets
/// its figure. The file is written to a temporary name in the same directory and renamed, so an
/// error leaves whatever was at `path` as it was.
///
/// ```ignore
/// let steps = [StepPoint { epoch: 1, samples_seen: 64, loss: 2.30 }];
/// let epochs = [EpochPoint { epoch: 1, accuracy: 0.45, avg_loss: 2.15 }];
/// plot::draw(Path::new("curves.png"), &steps, &epochs)?;
/// ```
pub fn draw(path: &Path, steps: &[StepPoint], epochs: &[EpochPoint]) -> Result<()> {
    let format = Format::of(path)?;
    let curves = Curves::new(steps, epochs)?;
    register_font()?;
    let bytes = match format {
        Format::Png => {
            let (w, h) = SIZE;
            let mut rgb = vec![0u8; w as usize * h as usize * 3];
            render(
                BitMapBackend::with_buffer(&mut rgb, SIZE).into_drawing_area(),
                &curves,
            )?;
            encode_png(&rgb, w, h)
        }
        Format::Svg => {
            let mut svg = String::new();
            render(
                SVGBackend::with_string(&mut svg, SIZE).into_drawing_area(),
                &curves,
            )?;
            svg.into_bytes()
        }
    };
    write_atomically(path, &bytes)
}

/// Check, before any training, that `path` names a format [`draw`] knows.
pub fn check_format(path: &Path) -> Result<()> {
    Format::of(path).map(|_| ())
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Format {
    Png,
    Svg,
}

impl Format {
    fn of(path: &Path) -> Result<Format> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("png") => Ok(Format::Png),
            Some("svg") => Ok(Format::Svg),
            _ => bail!(
                "{}: cannot tell the plot format; name the file .png or .svg",
                path.display()
            ),
        }
    }
}

/// The points to draw, in plot coordinates (x in epochs, loss, accuracy in percent).
struct Curves {
    train_loss: Vec<(f64, f64)>,
    test_loss: Vec<(f64, f64)>,
    accuracy: Vec<(f64, f64)>,
    x: Range<f64>,
}

impl Curves {
    fn new(steps: &[StepPoint], epochs: &[EpochPoint]) -> Result<Curves> {
        // A NaN or infinity cannot be placed on an axis; the trainer stops before logging one.
        if let Some(s) = steps.iter().find(|s| !s.loss.is_finite()) {
            bail!(
                "cannot plot a training loss of {} (epoch {}, sample {})",
                s.loss,
                s.epoch,
                s.samples_seen
            );
        }
        if let Some(e) = epochs
            .iter()
            .find(|e| !(e.accuracy.is_finite() && e.avg_loss.is_finite()))
        {
            bail!(
                "cannot plot the test pass of epoch {}: accuracy {}, loss {}",
                e.epoch,
                e.accuracy,
                e.avg_loss
            );
        }
        let len = epoch_len(steps);
        let train_loss: Vec<_> = steps
            .iter()
            .map(|s| (s.samples_seen as f64 / len, s.loss))
            .collect();
        let test_loss: Vec<_> = epochs
            .iter()
            .map(|e| (f64::from(e.epoch), e.avg_loss))
            .collect();
        let accuracy: Vec<_> = epochs
            .iter()
            .map(|e| (f64::from(e.epoch), 100.0 * e.accuracy))
            .collect();
        // From the start of the first epoch shown (0 for a run from scratch, later for a resumed
        // one) to the end of the last.
        let first = steps
            .iter()
            .map(|s| s.epoch)
            .chain(epochs.iter().map(|e| e.epoch))
            .min();
        let last = steps
            .iter()
            .map(|s| s.epoch)
            .chain(epochs.iter().map(|e| e.epoch))
            .max();
        let x = match (first, last) {
            (Some(first), Some(last)) => f64::from(first.max(1) - 1)..f64::from(last.max(1)),
            _ => 0.0..1.0,
        };
        Ok(Curves {
            train_loss,
            test_loss,
            accuracy,
            x,
        })
    }

    /// From 0 to a little above the largest loss.
    fn loss_range(&self) -> Range<f64> {
        let max = self
            .train_loss
            .iter()
            .chain(&self.test_loss)
            .map(|p| p.1)
            .fold(0.0, f64::max);
        0.0..if max > 0.0 { 1.08 * max } else { 1.0 }
    }

    /// The accuracies with some room, on multiples of 5 within [0, 100].
    fn accuracy_range(&self) -> Range<f64> {
        let lo = self
            .accuracy
            .iter()
            .map(|p| p.1)
            .fold(f64::INFINITY, f64::min);
        let hi = self
            .accuracy
            .iter()
            .map(|p| p.1)
            .fold(f64::NEG_INFINITY, f64::max);
        if lo > hi {
            return 0.0..100.0;
        }
        let lo = (5.0 * ((lo - 2.0) / 5.0).floor()).clamp(0.0, 95.0);
        let hi = (5.0 * ((hi + 2.0) / 5.0).ceil()).clamp(lo + 5.0, 100.0);
        lo..hi
    }
}

/// The number of training samples in one epoch, read off the logged steps.
///
/// A step of epoch `e` has `samples_seen = (e - 1) * len + current` with `0 < current <= len`.
/// The trainer logs the same batches in every epoch, so the first steps of two consecutive epochs
/// are exactly `len` apart; that value is used when every step then falls inside its own epoch.
/// With a single epoch logged, the best bound is the largest `samples_seen / e`, short of `len`
/// by the samples after the last logged step. Returns 1 when there is no step (nothing to place).
fn epoch_len(steps: &[StepPoint]) -> f64 {
    let fits = |len: u64| {
        steps.iter().all(|s| {
            let start = u64::from(s.epoch.max(1) - 1) * len;
            start < s.samples_seen && s.samples_seen <= start + len
        })
    };
    let mut firsts = std::collections::BTreeMap::new();
    for s in steps {
        let first = firsts.entry(s.epoch).or_insert(s.samples_seen);
        *first = (*first).min(s.samples_seen);
    }
    let firsts: Vec<(u32, u64)> = firsts.into_iter().collect();
    let exact = firsts
        .windows(2)
        .find(|w| w[1].0 == w[0].0 + 1 && w[1].1 > w[0].1)
        .map(|w| w[1].1 - w[0].1)
        .filter(|&len| fits(len));
    match exact {
        Some(len) => len as f64,
        None => {
            let bound = steps
                .iter()
                .map(|s| s.samples_seen as f64 / f64::from(s.epoch.max(1)))
                .fold(0.0, f64::max);
            if bound > 0.0 {
                bound
            } else {
                1.0
            }
        }
    }
}

/// Draws both panels on `root` and flushes it.
fn render<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, curves: &Curves) -> Result<()>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(SIZE.0 * 11 / 20);

    let mut chart = ChartBuilder::on(&left)
        .caption("Loss", ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(42)
        .y_label_area_size(56)
        .build_cartesian_2d(curves.x.clone(), curves.loss_range())?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc("cross-entropy loss")
        .x_label_formatter(&short)
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 16))
        .light_line_style(TRANSPARENT)
        .bold_line_style(BLACK.mix(0.12))
        .draw()?;
    // A series without points gets no legend entry either, so empty axes stay empty.
    if !curves.train_loss.is_empty() {
        let style = TRAIN_COLOR.stroke_width(2);
        chart
            .draw_series(LineSeries::new(curves.train_loss.iter().copied(), style))?
            .label("training batch")
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 24, y)], style));
    }
    if !curves.test_loss.is_empty() {
        draw_with_points(&mut chart, &curves.test_loss, TEST_COLOR, "test (average)")?;
    }
    if !(curves.train_loss.is_empty() && curves.test_loss.is_empty()) {
        legend(&mut chart, SeriesLabelPosition::UpperRight)?;
    }

    let mut chart = ChartBuilder::on(&right)
        .caption("Test accuracy", ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(42)
        .y_label_area_size(52)
        .build_cartesian_2d(curves.x.clone(), curves.accuracy_range())?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc("accuracy (%)")
        .x_label_formatter(&short)
        .y_labels(8)
        .y_label_formatter(&short)
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 16))
        .light_line_style(TRANSPARENT)
        .bold_line_style(BLACK.mix(0.12))
        .draw()?;
    if let Some(&(x, y)) = curves.accuracy.last() {
        draw_with_points(&mut chart, &curves.accuracy, ACCURACY_COLOR, "test set")?;
        // The final accuracy, written above its point: the number a reader looks for. Its right
        // end is pinned, so a viewer's wider font (SVG) grows it inwards, not off the figure.
        let text = ("sans-serif", 14)
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(HPos::Right, VPos::Bottom));
        chart.draw_series(std::iter::once(
            EmptyElement::at((x, y)) + Text::new(format!("{y:.1}%"), (6, -9), text),
        ))?;
        legend(&mut chart, SeriesLabelPosition::LowerRight)?;
    }

    root.present()?;
    Ok(())
}

type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// A line through `points` with a filled dot on each, and its legend entry.
fn draw_with_points<'a, DB: DrawingBackend + 'a>(
    chart: &mut Chart<'a, DB>,
    points: &[(f64, f64)],
    color: RGBColor,
    label: &str,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let line = color.stroke_width(2);
    chart.draw_series(LineSeries::new(points.iter().copied(), line))?;
    chart
        .draw_series(points.iter().map(|&p| Circle::new(p, 4, color.filled())))?
        .label(label)
        .legend(move |(x, y)| {
            EmptyElement::at((x + 12, y))
                + PathElement::new([(-12, 0), (12, 0)], line)
                + Circle::new((0, 0), 4, color.filled())
        });
    Ok(())
}

fn legend<'a, DB: DrawingBackend + 'a>(
    chart: &mut Chart<'a, DB>,
    position: SeriesLabelPosition,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    chart
        .configure_series_labels()
        .position(position)
        .label_font(("sans-serif", 14))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .draw()?;
    Ok(())
}

/// A tick label without trailing zeros: 2, 2.5, 0.25.
fn short(v: &f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_string()
    } else {
        s.to_string()
    }
}

/// Makes the embedded Noto Sans the "sans-serif" that plotters asks `ab_glyph` for (it looks
/// fonts up by family name; other styles fall back to the regular face).
fn register_font() -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, ttf_noto_sans::REGULAR)
            .is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(anyhow!("the embedded Noto Sans font could not be read"))
    }
}

/// An 8-bit RGB PNG: signature, IHDR, one zlib-compressed IDAT, IEND (the PNG spec's minimum).
fn encode_png(rgb: &[u8], width: u32, height: u32) -> Vec<u8> {
    let row = width as usize * 3;
    // Each scanline starts with its filter type; 0 (none) keeps the encoder trivial, and deflate
    // still shrinks a mostly white figure well.
    let mut raw = Vec::with_capacity((row + 1) * height as usize);
    for line in rgb.chunks_exact(row) {
        raw.push(0);
        raw.extend_from_slice(line);
    }
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    // Bit depth 8, colour type 2 (RGB), compression 0, filter method 0, no interlace.
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);

    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut png, b"IHDR", &ihdr);
    chunk(&mut png, b"IDAT", &zlib(&raw));
    chunk(&mut png, b"IEND", &[]);
    png
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing into a Vec cannot fail.
    z.write_all(data)
        .and_then(|_| z.finish())
        .unwrap_or_default()
}

/// Appends a PNG chunk: length, type, data, CRC-32 of type and data.
fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    let mut crc = flate2::Crc::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    out.extend_from_slice(&crc.sum().to_be_bytes());
}

/// Writes `bytes` to a temporary file beside `path`, then renames it over `path`.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path
        .file_name()
        .with_context(|| format!("{}: not a file name", path.display()))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp{}", std::process::id()));
    let tmp: PathBuf = path.with_file_name(tmp_name);
    let written = fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(bytes).and_then(|_| f.sync_all()))
        .with_context(|| format!("writing {} (through {})", path.display(), tmp.display()))
        .and_then(|_| {
            fs::rename(&tmp, path)
                .with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))
        });
    if written.is_err() {
        // Best effort: the error that matters is the one returned.
        let _ = fs::remove_file(&tmp);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A temporary directory removed on drop (std has none, and this saves a dependency).
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(tag: &str) -> TempDir {
            let dir =
                std::env::temp_dir().join(format!("ferrograd-plot-{tag}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    /// What the trainer logs for `n_epochs` epochs of 60000 samples, batch 64, every 100 batches.
    fn history(n_epochs: u32) -> (Vec<StepPoint>, Vec<EpochPoint>) {
        let (len, batch) = (60_000u64, 64u64);
        let mut steps = Vec::new();
        let mut epochs = Vec::new();
        for epoch in 1..=n_epochs {
            for b in (0..len.div_ceil(batch)).step_by(100) {
                let samples_seen = u64::from(epoch - 1) * len + (b * batch + batch).min(len);
                let t = samples_seen as f64 / len as f64;
                steps.push(StepPoint {
                    epoch,
                    samples_seen,
                    loss: 0.5 + 1.8 * (-t).exp() + 0.1 * (b as f64).sin(),
                });
            }
            let t = f64::from(epoch);
            epochs.push(EpochPoint {
                epoch,
                accuracy: 0.9 - 0.5 * (-t).exp(),
                avg_loss: 0.55 + 1.7 * (-t).exp(),
            });
        }
        (steps, epochs)
    }

    /// The PNG's chunks as (type, data), checking each CRC.
    fn chunks(png: &[u8]) -> Vec<([u8; 4], Vec<u8>)> {
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
        let mut out = Vec::new();
        let mut rest = &png[8..];
        while !rest.is_empty() {
            let len = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
            let kind: [u8; 4] = rest[4..8].try_into().unwrap();
            let data = rest[8..8 + len].to_vec();
            let crc = u32::from_be_bytes(rest[8 + len..12 + len].try_into().unwrap());
            let mut expected = flate2::Crc::new();
            expected.update(&rest[4..8 + len]);
            assert_eq!(
                crc,
                expected.sum(),
                "CRC of chunk {}",
                String::from_utf8_lossy(&kind)
            );
            out.push((kind, data));
            rest = &rest[12 + len..];
        }
        out
    }

    /// Decodes an 8-bit RGB, filter-0 PNG into (width, height, pixels).
    fn decode(png: &[u8]) -> (u32, u32, Vec<[u8; 3]>) {
        let chunks = chunks(png);
        assert_eq!(&chunks[0].0, b"IHDR");
        assert_eq!(&chunks.last().unwrap().0, b"IEND");
        let ihdr = &chunks[0].1;
        let width = u32::from_be_bytes(ihdr[0..4].try_into().unwrap());
        let height = u32::from_be_bytes(ihdr[4..8].try_into().unwrap());
        assert_eq!(&ihdr[8..], &[8, 2, 0, 0, 0], "8-bit RGB, not interlaced");
        let idat: Vec<u8> = chunks
            .iter()
            .filter(|c| &c.0 == b"IDAT")
            .flat_map(|c| c.1.clone())
            .collect();
        let mut raw = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::ZlibDecoder::new(&idat[..]), &mut raw)
            .unwrap();
        let row = width as usize * 3 + 1;
        assert_eq!(raw.len(), row * height as usize);
        let mut pixels = Vec::new();
        for line in raw.chunks_exact(row) {
            assert_eq!(line[0], 0, "filter type");
            pixels.extend(line[1..].chunks_exact(3).map(|p| [p[0], p[1], p[2]]));
        }
        (width, height, pixels)
    }

    /// Pixels of exactly `color` in the columns `cols`.
    fn count(width: u32, pixels: &[[u8; 3]], color: RGBColor, cols: Range<u32>) -> usize {
        let c = [color.0, color.1, color.2];
        pixels
            .iter()
            .enumerate()
            .filter(|(i, p)| **p == c && cols.contains(&(*i as u32 % width)))
            .count()
    }

    #[test]
    fn png_has_the_size_and_both_panels() {
        let dir = TempDir::new("png");
        let (steps, epochs) = history(5);
        // The extension is read in any case.
        let path = dir.0.join("curves.PNG");
        draw(&path, &steps, &epochs).unwrap();
        let (w, h, pixels) = decode(&fs::read(&path).unwrap());
        assert_eq!((w, h), SIZE);
        // Each curve is drawn, in its panel: the split is at 55% of the width.
        let split = SIZE.0 * 11 / 20;
        assert!(count(w, &pixels, TRAIN_COLOR, 0..split) > 500);
        assert!(count(w, &pixels, TEST_COLOR, 0..split) > 100);
        assert!(count(w, &pixels, ACCURACY_COLOR, split..w) > 100);
        assert_eq!(count(w, &pixels, TRAIN_COLOR, split..w), 0);
        assert_eq!(count(w, &pixels, ACCURACY_COLOR, 0..split), 0);
        // Text is drawn: dark pixels that no curve or grid line (alpha 0.12 on white) gives.
        assert!(pixels.iter().filter(|p| p.iter().all(|&c| c < 60)).count() > 1000);
        // Nothing is left beside it.
        assert_eq!(fs::read_dir(&dir.0).unwrap().count(), 1);
    }

    #[test]
    fn svg_has_its_text() {
        let dir = TempDir::new("svg");
        let (steps, epochs) = history(3);
        let path = dir.0.join("curves.svg");
        draw(&path, &steps, &epochs).unwrap();
        let svg = fs::read_to_string(&path).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(100)]);
        assert!(svg.contains(r#"width="1000" height="450""#));
        for text in [
            "Loss",
            "Test accuracy",
            "epoch",
            "cross-entropy loss",
            "accuracy (%)",
            "training batch",
            "test set",
        ] {
            // plotters writes each text on a line of its own.
            assert!(
                svg.contains(&format!(">\n{text}\n</text>")),
                "no text {text:?} in the SVG"
            );
        }
        // The final accuracy of history(3) is 90 - 50 e^-3 = 87.5%.
        assert!(svg.contains(">\n87.5%\n<"));
    }

    #[test]
    fn empty_history_gives_empty_axes() {
        let dir = TempDir::new("empty");
        let path = dir.0.join("empty.png");
        draw(&path, &[], &[]).unwrap();
        let (w, h, pixels) = decode(&fs::read(&path).unwrap());
        assert_eq!((w, h), SIZE);
        for color in [TRAIN_COLOR, TEST_COLOR, ACCURACY_COLOR] {
            assert_eq!(count(w, &pixels, color, 0..w), 0);
        }
        // The axes and their labels are there.
        assert!(pixels.iter().filter(|p| p.iter().all(|&c| c < 60)).count() > 1000);
        let svg_path = dir.0.join("empty.svg");
        draw(&svg_path, &[], &[]).unwrap();
        assert!(fs::read_to_string(&svg_path)
            .unwrap()
            .contains(">\naccuracy (%)\n<"));
    }

    #[test]
    fn other_extensions_are_refused_by_name() {
        let dir = TempDir::new("ext");
        let (steps, epochs) = history(1);
        for name in ["curves.jpg", "curves", "curves.png.txt"] {
            let path = dir.0.join(name);
            let err = draw(&path, &steps, &epochs).unwrap_err().to_string();
            assert!(
                err.contains(name) && err.contains(".png") && err.contains(".svg"),
                "{err}"
            );
            assert!(!path.exists());
        }
    }

    #[test]
    fn unwritable_path_is_an_error_that_names_it_and_leaves_nothing() {
        let dir = TempDir::new("unwritable");
        let (steps, epochs) = history(1);
        let missing = dir.0.join("no-such-dir").join("curves.png");
        let err = format!("{:#}", draw(&missing, &steps, &epochs).unwrap_err());
        assert!(err.contains(&missing.display().to_string()), "{err}");

        // A directory already at the path: the rename fails, the directory and what it holds stay,
        // and the temporary file is removed.
        let taken = dir.0.join("taken.svg");
        fs::create_dir(&taken).unwrap();
        fs::write(taken.join("kept"), b"x").unwrap();
        let err = format!("{:#}", draw(&taken, &steps, &epochs).unwrap_err());
        assert!(err.contains(&taken.display().to_string()), "{err}");
        assert_eq!(fs::read(taken.join("kept")).unwrap(), b"x");
        assert_eq!(
            fs::read_dir(&dir.0).unwrap().count(),
            1,
            "temporary file left behind"
        );
    }

    #[test]
    fn existing_file_is_replaced_whole() {
        let dir = TempDir::new("replace");
        let path = dir.0.join("curves.svg");
        fs::write(&path, "old").unwrap();
        let (steps, epochs) = history(2);
        draw(&path, &steps, &epochs).unwrap();
        assert!(fs::read_to_string(&path).unwrap().starts_with("<svg"));
    }

    #[test]
    fn non_finite_values_are_refused() {
        let dir = TempDir::new("nan");
        let path = dir.0.join("curves.png");
        let (mut steps, epochs) = history(2);
        steps[3].loss = f64::NAN;
        let err = draw(&path, &steps, &epochs).unwrap_err().to_string();
        assert!(err.contains("NaN") && err.contains("epoch 1"), "{err}");
        let (steps, mut epochs) = history(2);
        epochs[1].avg_loss = f64::INFINITY;
        let err = draw(&path, &steps, &epochs).unwrap_err().to_string();
        assert!(err.contains("epoch 2"), "{err}");
        assert!(!path.exists());
    }

    #[test]
    fn epoch_length_is_read_off_the_steps() {
        // Several epochs: the first steps of epochs 1 and 2 are 60000 apart, exactly.
        let (steps, _) = history(3);
        assert_eq!(epoch_len(&steps), 60_000.0);
        // One epoch: the last logged step (batch 900, samples 57664) is the best bound.
        let (steps, _) = history(1);
        assert_eq!(epoch_len(&steps), 57_664.0);
        // A resumed run that logged epochs 4 and 5 only.
        let (steps, _) = history(5);
        let resumed: Vec<_> = steps.into_iter().filter(|s| s.epoch >= 4).collect();
        assert_eq!(epoch_len(&resumed), 60_000.0);
        // Steps that do not fit the exact value fall back to the bound.
        let odd = [
            StepPoint {
                epoch: 1,
                samples_seen: 10,
                loss: 1.0,
            },
            StepPoint {
                epoch: 2,
                samples_seen: 15,
                loss: 1.0,
            },
            StepPoint {
                epoch: 2,
                samples_seen: 40,
                loss: 1.0,
            },
        ];
        assert_eq!(epoch_len(&odd), 20.0);
        assert_eq!(epoch_len(&[]), 1.0);
    }
}
