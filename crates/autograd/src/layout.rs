//! How a tensor's shape maps onto its storage: strides (in elements) and an offset.
//! Transposes and permutations only change this, never the data.

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Layout {
    pub shape: Vec<usize>,
    pub strides: Vec<usize>,
    pub offset: usize,
}

impl Layout {
    pub fn contiguous(shape: &[usize]) -> Layout {
        Layout {
            shape: shape.to_vec(),
            strides: contiguous_strides(shape),
            offset: 0,
        }
    }

    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    /// Row-major with no gaps (dims of size 1 may have any stride; an empty
    /// layout is contiguous, as in PyTorch).
    pub fn is_contiguous(&self) -> bool {
        if self.numel() == 0 {
            return true;
        }
        let mut expected = 1;
        for (&size, &stride) in self.shape.iter().zip(&self.strides).rev() {
            if size != 1 && stride != expected {
                return false;
            }
            expected *= size;
        }
        true
    }

    /// Whether the elements fill `offset..offset + numel` of the storage
    /// exactly once, in some order of the dims (PyTorch's "non-overlapping
    /// and dense"): a contiguous layout or a permutation of one, whatever
    /// the strides of dims of size 1. An empty layout is.
    pub fn is_dense(&self) -> bool {
        let mut dims: Vec<(usize, usize)> = (self.shape.iter().copied())
            .zip(self.strides.iter().copied())
            .filter(|&(size, _)| size != 1)
            .collect();
        if dims.iter().any(|&(size, _)| size == 0) {
            return true;
        }
        dims.sort_by_key(|&(_, stride)| stride);
        let mut expected = 1;
        for (size, stride) in dims {
            if stride != expected {
                return false;
            }
            expected *= size;
        }
        true
    }

    /// Copy the viewed elements out of `storage` in row-major order.
    pub fn gather(&self, storage: &[f32]) -> Vec<f32> {
        let mut out = Vec::with_capacity(self.numel());
        let (len, stride) = self.row();
        self.for_each_row(|base| out.extend((0..len).map(|j| storage[base + j * stride])));
        out
    }

    /// The storage position of each viewed element, in row-major order.
    pub fn for_each_position(&self, mut f: impl FnMut(usize)) {
        let (len, stride) = self.row();
        self.for_each_row(|base| (0..len).for_each(|j| f(base + j * stride)));
    }

    /// Size and stride of the last dim, along which a row runs (a 0-d
    /// layout is one row of one element).
    fn row(&self) -> (usize, usize) {
        match (self.shape.last(), self.strides.last()) {
            (Some(&len), Some(&stride)) => (len, stride),
            _ => (1, 1),
        }
    }

    /// Calls `f` with the storage position of each row's first element, in
    /// row-major order: the walk over a strided layout that reads and writes share.
    fn for_each_row(&self, mut f: impl FnMut(usize)) {
        if self.numel() == 0 {
            return;
        }
        let outer = self.shape.len().saturating_sub(1);
        // A counter over the outer dims, and the position it points at.
        let mut index = vec![0usize; outer];
        let mut base = self.offset;
        loop {
            f(base);
            let mut d = outer;
            loop {
                if d == 0 {
                    return;
                }
                d -= 1;
                index[d] += 1;
                base += self.strides[d];
                if index[d] < self.shape[d] {
                    break;
                }
                base -= self.strides[d] * self.shape[d];
                index[d] = 0;
            }
        }
    }

    /// Dim `dim` cut to `start..start + length` (bounds checked by the caller).
    pub fn narrowed(&self, dim: usize, start: usize, length: usize) -> Layout {
        let mut layout = self.clone();
        layout.shape[dim] = length;
        layout.moved_by(start * self.strides[dim])
    }

    /// Dim `dim` fixed at `index` and removed (bounds checked by the caller).
    pub fn selected(&self, dim: usize, index: usize) -> Layout {
        let mut layout = self.clone();
        layout.shape.remove(dim);
        layout.strides.remove(dim);
        layout.moved_by(index * self.strides[dim])
    }

    /// The offset moved by `delta`, unless the view is empty: an empty view
    /// keeps its source's offset, so that slicing its zero values from the
    /// storage stays in bounds.
    fn moved_by(mut self, delta: usize) -> Layout {
        if self.numel() > 0 {
            self.offset += delta;
        }
        self
    }

    /// The same elements seen with `shape` (of the same numel) without
    /// copying, if the strides allow it: PyTorch's rule for `view`, and its
    /// strides. Each run of dims that are contiguous with one another may be
    /// split or merged freely; a new dim may not span two such runs. `None`
    /// when it would.
    pub fn viewed(&self, shape: &[usize]) -> Option<Layout> {
        let at = |strides| {
            Some(Layout {
                shape: shape.to_vec(),
                strides,
                offset: self.offset,
            })
        };
        if self.numel() == 0 {
            // No element to address: any strides do; PyTorch's are these.
            return at(if self.shape == shape {
                self.strides.clone()
            } else {
                contiguous_strides(shape)
            });
        }
        // Walk the old dims from the last, a run at a time, giving the new
        // dims that cover the same number of elements strides within the run.
        let mut strides = vec![0; shape.len()];
        let mut new_d = shape.len();
        let mut base = self.strides.last().copied().unwrap_or(1);
        let (mut old_numel, mut new_numel) = (1, 1);
        for d in (0..self.shape.len()).rev() {
            old_numel *= self.shape[d];
            let run_ends =
                d == 0 || (self.shape[d - 1] != 1 && self.strides[d - 1] != old_numel * base);
            if !run_ends {
                continue;
            }
            while new_d > 0 && (new_numel < old_numel || shape[new_d - 1] == 1) {
                new_d -= 1;
                strides[new_d] = new_numel * base;
                new_numel *= shape[new_d];
            }
            if new_numel != old_numel {
                return None;
            }
            if d > 0 {
                base = self.strides[d - 1];
                (old_numel, new_numel) = (1, 1);
            }
        }
        // A 0-d tensor's one element: every new dim has size 1.
        while new_d > 0 && shape[new_d - 1] == 1 {
            new_d -= 1;
            strides[new_d] = new_numel * base;
        }
        if new_d != 0 {
            return None;
        }
        at(strides)
    }

    pub fn permuted(&self, dims: &[usize]) -> Layout {
        Layout {
            shape: dims.iter().map(|&d| self.shape[d]).collect(),
            strides: dims.iter().map(|&d| self.strides[d]).collect(),
            offset: self.offset,
        }
    }
}

/// Row-major strides; a dim of size 0 counts as 1, as in PyTorch (`[3, 0]`
/// has strides `[1, 1]`).
pub(crate) fn contiguous_strides(shape: &[usize]) -> Vec<usize> {
    let mut strides = vec![1; shape.len()];
    for d in (0..shape.len().saturating_sub(1)).rev() {
        strides[d] = strides[d + 1] * shape[d + 1].max(1);
    }
    strides
}

/// NumPy/PyTorch broadcasting of two shapes; `None` if they are incompatible.
pub(crate) fn broadcast_shape(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let rank = a.len().max(b.len());
    let mut out = vec![0; rank];
    for i in 0..rank {
        let da = if i + a.len() >= rank {
            a[i + a.len() - rank]
        } else {
            1
        };
        let db = if i + b.len() >= rank {
            b[i + b.len() - rank]
        } else {
            1
        };
        out[i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return None,
        };
    }
    Some(out)
}

/// Whether `from` broadcasts to `to` itself (PyTorch's `expand` rule): the
/// dims line up from the right, each either equal or 1.
pub(crate) fn broadcasts_to(from: &[usize], to: &[usize]) -> bool {
    broadcast_shape(from, to).as_deref() == Some(to)
}

/// Strides that read a contiguous tensor of `shape` as if it had `target` shape
/// (stride 0 along broadcast dims).
pub(crate) fn broadcast_strides(shape: &[usize], target: &[usize]) -> Vec<usize> {
    let own = contiguous_strides(shape);
    let pad = target.len() - shape.len();
    (0..target.len())
        .map(|i| {
            if i < pad || shape[i - pad] == 1 {
                0
            } else {
                own[i - pad]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcasting_follows_numpy() {
        assert_eq!(broadcast_shape(&[3, 1], &[4]), Some(vec![3, 4]));
        assert_eq!(broadcast_shape(&[2, 3], &[3]), Some(vec![2, 3]));
        assert_eq!(broadcast_shape(&[], &[5]), Some(vec![5]));
        assert_eq!(broadcast_shape(&[2, 3], &[2]), None);
    }

    /// The corners of PyTorch's view rule, as torch 2.15 gives them:
    /// `torch.tensor(5.).view(1, 1).stride() == (1, 1)`,
    /// `torch.zeros(0, 3).view(3, 0).stride() == (1, 1)`, and the empty
    /// transpose viewed with its own shape keeps its strides `(1, 3)`.
    #[test]
    fn views_of_0_d_and_empty_layouts_have_pytorchs_strides() {
        let strides = |l: &Layout, shape: &[usize]| l.viewed(shape).map(|v| v.strides);
        let scalar = Layout::contiguous(&[]);
        assert_eq!(strides(&scalar, &[1, 1]), Some(vec![1, 1]));
        assert_eq!(strides(&scalar, &[]), Some(vec![]));
        let empty = Layout::contiguous(&[0, 3]);
        assert_eq!(empty.strides, vec![3, 1]);
        assert_eq!(strides(&empty, &[3, 0]), Some(vec![1, 1]));
        let empty_t = empty.permuted(&[1, 0]);
        assert_eq!(strides(&empty_t, &[3, 0]), Some(vec![1, 3]));
        assert_eq!(Layout::contiguous(&[3, 0]).strides, vec![1, 1]);
    }

    #[test]
    fn gather_reads_a_transpose() {
        let l = Layout::contiguous(&[2, 3]).permuted(&[1, 0]);
        assert!(!l.is_contiguous());
        assert_eq!(
            l.gather(&[0., 1., 2., 3., 4., 5.]),
            vec![0., 3., 1., 4., 2., 5.]
        );
    }
}
