//! `Display` for [`Tensor`]: what `print(tensor)` shows in PyTorch with its
//! default print options (4 digits, 80 columns, more than 1,000 elements
//! summarized by their first and last 3 along each dim), so that examples
//! that follow PyTorch's tutorials print the same text.
//!
//! The rules are those of `torch/_tensor_str.py`: one format for the whole
//! tensor, chosen from its nonzero finite values: integers as `2.`, else
//! fixed `0.1234`, or scientific `1.2340e-05` when the values span more than
//! 1000x, exceed 1e8 or (not integers) fall below 1e-4; every element padded
//! to the widest.

use std::fmt;

use crate::Tensor;

const PRECISION: usize = 4;
const LINE_WIDTH: usize = 80;
const THRESHOLD: usize = 1000;
const EDGE_ITEMS: usize = 3;

impl fmt::Display for Tensor {
    /// ```
    /// use autograd::Tensor;
    /// let t = Tensor::from_vec(vec![0.25, -1.5, 3.125], &[3]);
    /// assert_eq!(t.to_string(), "tensor([ 0.2500, -1.5000,  3.1250])");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prefix = "tensor(";
        let indent = prefix.len();
        let shape = self.shape().to_vec();
        let values: Vec<f64> = self.to_vec().into_iter().map(f64::from).collect();
        let summarize = values.len() > THRESHOLD;
        let body = if values.is_empty() {
            "[]".to_string()
        } else {
            let grid = Grid {
                shape: &shape,
                values: &values,
            };
            let formatter = if summarize {
                Format::new(&grid.summarized())
            } else {
                Format::new(&values)
            };
            grid.body(0, 0, indent, summarize, &formatter)
        };
        let mut suffixes = Vec::new();
        if values.is_empty() && shape.len() != 1 {
            let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
            suffixes.push(format!("size=({})", dims.join(", ")));
        }
        if let Some(op) = self.grad_fn() {
            suffixes.push(format!("grad_fn=<{op}>"));
        } else if self.requires_grad() {
            suffixes.push("requires_grad=True".to_string());
        }
        let mut text = format!("{prefix}{body}");
        // As PyTorch: a suffix that would overflow the last line starts a new one.
        let newline = text.rfind('\n').map_or(-1, |i| i as isize);
        let mut last_line = (text.len() as isize - newline + 1) as usize;
        for suffix in suffixes {
            if last_line + suffix.len() + 2 > LINE_WIDTH {
                text.push_str(&format!(",\n{}{suffix}", " ".repeat(indent)));
                last_line = indent + suffix.len();
            } else {
                text.push_str(&format!(", {suffix}"));
                last_line += suffix.len() + 2;
            }
        }
        write!(f, "{text})")
    }
}

/// A tensor's values in row-major order, addressed by a dim and an offset.
struct Grid<'a> {
    shape: &'a [usize],
    values: &'a [f64],
}

impl Grid<'_> {
    /// Elements between consecutive indices of dim `d`.
    fn stride(&self, d: usize) -> usize {
        self.shape[d + 1..].iter().product()
    }

    /// The indices of dim `d` that are printed: all, or the first and last
    /// `EDGE_ITEMS` (`None` marks the "..." between them).
    fn shown(&self, d: usize, summarize: bool) -> Vec<Option<usize>> {
        let n = self.shape[d];
        if summarize && n > 2 * EDGE_ITEMS {
            (0..EDGE_ITEMS)
                .map(Some)
                .chain([None])
                .chain((n - EDGE_ITEMS..n).map(Some))
                .collect()
        } else {
            (0..n).map(Some).collect()
        }
    }

    /// The values a summarized print shows, which alone choose its format.
    fn summarized(&self) -> Vec<f64> {
        let mut out = Vec::new();
        self.collect_shown(0, 0, &mut out);
        out
    }

    fn collect_shown(&self, d: usize, offset: usize, out: &mut Vec<f64>) {
        if d == self.shape.len() {
            out.push(self.values[offset]);
            return;
        }
        for i in self.shown(d, true).into_iter().flatten() {
            self.collect_shown(d + 1, offset + i * self.stride(d), out);
        }
    }

    /// The text of the sub-tensor at `offset` spanning dims `d..`.
    fn body(
        &self,
        d: usize,
        offset: usize,
        indent: usize,
        summarize: bool,
        format: &Format,
    ) -> String {
        let dims = self.shape.len();
        if d == dims {
            return format.format(self.values[offset]);
        }
        let items = self.shown(d, summarize);
        if d + 1 == dims {
            let per_line = ((LINE_WIDTH - indent.min(LINE_WIDTH)) / (format.width + 2)).max(1);
            let elements: Vec<String> = items
                .iter()
                .map(|i| match i {
                    Some(i) => format.format(self.values[offset + i]),
                    None => " ...".to_string(),
                })
                .collect();
            let lines: Vec<String> = elements.chunks(per_line).map(|l| l.join(", ")).collect();
            return format!(
                "[{}]",
                lines.join(&format!(",\n{}", " ".repeat(indent + 1)))
            );
        }
        let slices: Vec<String> = items
            .iter()
            .map(|i| match i {
                Some(i) => self.body(
                    d + 1,
                    offset + i * self.stride(d),
                    indent + 1,
                    summarize,
                    format,
                ),
                None => "...".to_string(),
            })
            .collect();
        let separator = format!(",{}{}", "\n".repeat(dims - d - 1), " ".repeat(indent + 1));
        format!("[{}]", slices.join(&separator))
    }
}

/// PyTorch's `_Formatter`: one number format and width for a whole tensor.
struct Format {
    int_mode: bool,
    sci_mode: bool,
    width: usize,
}

impl Format {
    fn new(values: &[f64]) -> Format {
        let nonzero: Vec<f64> = values
            .iter()
            .copied()
            .filter(|v| v.is_finite() && *v != 0.0)
            .collect();
        let mut format = Format {
            int_mode: true,
            sci_mode: false,
            width: 1,
        };
        if nonzero.is_empty() {
            return format;
        }
        let abs = nonzero.iter().map(|v| v.abs());
        let min = abs.clone().fold(f64::INFINITY, f64::min);
        let max = abs.fold(0.0, f64::max);
        format.int_mode = nonzero.iter().all(|v| v.ceil() == *v);
        let wide = max / min > 1000.0 || max > 1.0e8;
        format.sci_mode = if format.int_mode {
            wide
        } else {
            wide || min < 1.0e-4
        };
        format.width = nonzero
            .iter()
            .map(|&v| match (format.sci_mode, format.int_mode) {
                (true, _) => sci(v).len(),
                (false, true) => fixed(v, 0).len() + 1,
                (false, false) => fixed(v, PRECISION).len(),
            })
            .max()
            .unwrap_or(1);
        format
    }

    fn format(&self, v: f64) -> String {
        let text = if self.sci_mode {
            sci(v)
        } else if self.int_mode {
            let mut s = fixed(v, 0);
            if v.is_finite() {
                s.push('.');
            }
            s
        } else {
            fixed(v, PRECISION)
        };
        format!("{text:>width$}", width = self.width)
    }
}

/// Python's `f"{v:.{digits}f}"` (Rust's rounding of the exact value is the same).
fn fixed(v: f64, digits: usize) -> String {
    match nonfinite(v) {
        Some(s) => s.to_string(),
        None => format!("{v:.digits$}"),
    }
}

/// Python's `f"{v:.4e}"`: the exponent signed and at least two digits.
fn sci(v: f64) -> String {
    if let Some(s) = nonfinite(v) {
        return s.to_string();
    }
    let text = format!("{v:.PRECISION$e}");
    let (mantissa, exponent) = text.split_once('e').expect("`e` format has an exponent");
    let exponent: i32 = exponent
        .parse()
        .expect("`e` format has an integer exponent");
    let sign = if exponent < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exponent.abs())
}

fn nonfinite(v: f64) -> Option<&'static str> {
    match v {
        _ if v.is_nan() => Some("nan"),
        f64::INFINITY => Some("inf"),
        f64::NEG_INFINITY => Some("-inf"),
        _ => None,
    }
}
