//! narrow, select, cat and the in-place ops (fill_, add_scalar_, copy_)
//! against PyTorch 2.15 (tests/pytorch/views_and_in_place.py prints every
//! expected value here), the version counter they bump, and what they refuse.

use autograd::{no_grad, BackwardError, Tensor};

fn arange(start: f32, end: f32, shape: &[usize]) -> Tensor {
    let n = (end - start) as usize;
    Tensor::from_vec((0..n).map(|i| start + i as f32).collect(), shape)
}

/// Shape, strides (in elements, as torch's `stride()`), contiguity and values.
#[track_caller]
fn assert_tensor(
    what: &str,
    t: &Tensor,
    shape: &[usize],
    strides: &[usize],
    contiguous: bool,
    values: &[f32],
) {
    assert_eq!(t.shape(), shape, "{what}: shape");
    assert_eq!(t.strides(), strides, "{what}: strides");
    assert_eq!(t.is_contiguous(), contiguous, "{what}: contiguous");
    assert_eq!(t.to_vec(), values, "{what}: values");
}

/// The "Tensors" tutorial's lines: `tensor[0]`, `tensor[:, 0]`, `tensor[..., -1]`,
/// `tensor[:, 1] = 0`, `torch.cat([tensor, tensor, tensor], dim=1)`, `tensor.add_(5)`.
#[test]
fn the_tensors_tutorial_indexing_cat_and_add_() {
    let tensor = Tensor::ones(&[4, 4]);
    assert_tensor(
        "first row",
        &tensor.select(0, 0),
        &[4],
        &[1],
        true,
        &[1.0; 4],
    );
    assert_tensor(
        "first column",
        &tensor.select(1, 0),
        &[4],
        &[4],
        false,
        &[1.0; 4],
    );
    assert_tensor(
        "last column",
        &tensor.select(-1, -1),
        &[4],
        &[4],
        false,
        &[1.0; 4],
    );
    tensor.select(1, 1).fill_(0.0);
    let row = [1.0, 0.0, 1.0, 1.0];
    assert_tensor(
        "tensor[:, 1] = 0",
        &tensor,
        &[4, 4],
        &[4, 1],
        true,
        &row.repeat(4),
    );
    let t1 = Tensor::cat(&[&tensor, &tensor, &tensor], 1);
    assert_tensor("cat dim 1", &t1, &[4, 12], &[12, 1], true, &row.repeat(12));
    tensor.add_scalar_(5.0);
    let row = [6.0, 5.0, 6.0, 6.0];
    assert_tensor("add_(5)", &tensor, &[4, 4], &[4, 1], true, &row.repeat(4));
    assert_eq!(
        t1.to_vec()[..4],
        [1.0, 0.0, 1.0, 1.0],
        "cat copied its inputs"
    );
}

/// Views of a transposed tensor, chained views and an empty one: torch's strides.
#[test]
fn narrow_and_select_are_views_with_torchs_strides() {
    let x = arange(0.0, 24.0, &[2, 3, 4]);
    let v = x.transpose(0, 2); // [4, 3, 2]
    assert_tensor(
        "v.narrow(0, 1, 2)",
        &v.narrow(0, 1, 2),
        &[2, 3, 2],
        &[1, 4, 12],
        false,
        &[
            1.0, 13.0, 5.0, 17.0, 9.0, 21.0, 2.0, 14.0, 6.0, 18.0, 10.0, 22.0,
        ],
    );
    assert_tensor(
        "v.narrow(-1, 1, 1)",
        &v.narrow(-1, 1, 1),
        &[4, 3, 1],
        &[1, 4, 12],
        false,
        &[
            12.0, 16.0, 20.0, 13.0, 17.0, 21.0, 14.0, 18.0, 22.0, 15.0, 19.0, 23.0,
        ],
    );
    assert_tensor(
        "v.select(1, -1)",
        &v.select(1, -1),
        &[4, 2],
        &[1, 12],
        false,
        &[8.0, 20.0, 9.0, 21.0, 10.0, 22.0, 11.0, 23.0],
    );
    assert_tensor(
        "v.select(-1, 0)",
        &v.select(-1, 0),
        &[4, 3],
        &[1, 4],
        false,
        &[0.0, 4.0, 8.0, 1.0, 5.0, 9.0, 2.0, 6.0, 10.0, 3.0, 7.0, 11.0],
    );
    assert_tensor(
        "x.select(0, 1).narrow(0, 1, 2)",
        &x.select(0, 1).narrow(0, 1, 2),
        &[2, 4],
        &[4, 1],
        true,
        &[16.0, 17.0, 18.0, 19.0, 20.0, 21.0, 22.0, 23.0],
    );
    assert_tensor(
        "x[..., -1]",
        &x.select(-1, -1),
        &[2, 3],
        &[12, 4],
        false,
        &[3.0, 7.0, 11.0, 15.0, 19.0, 23.0],
    );
    assert_tensor(
        "x.narrow(1, 2, 0)",
        &x.narrow(1, 2, 0),
        &[2, 0, 4],
        &[12, 4, 1],
        true,
        &[],
    );
    // The end of a dim is a valid start for an empty narrow, as in torch.
    assert_eq!(x.narrow(2, 4, 0).shape(), [2, 3, 0]);
    // A view with no elements, and one with a single element and no dims.
    assert_eq!(
        Tensor::zeros(&[0, 3]).select(1, 2).to_vec(),
        Vec::<f32>::new()
    );
    let e = x.select(0, 1).select(0, 2).select(0, -1);
    assert_tensor("x[1, 2, -1]", &e, &[], &[], true, &[23.0]);
    e.fill_(-5.0);
    assert_eq!(x.to_vec()[23], -5.0);
}

/// Writes through views (a narrow of a transpose, a column, a broadcast
/// source, a source that is another view of the same storage) reach the base.
#[test]
fn in_place_writes_through_views_reach_the_base() {
    let x = arange(0.0, 12.0, &[3, 4]);
    x.t().narrow(0, 1, 2).fill_(-1.0); // columns 1 and 2
    x.select(1, -1).add_scalar_(10.0); // last column
    x.select(1, 0)
        .copy_(&Tensor::from_vec(vec![7.0, 8.0, 9.0], &[3]));
    x.select(0, 2).narrow(0, 1, 2).copy_(&Tensor::scalar(0.5));
    x.t().select(0, 3).copy_(&x.select(1, 0)); // column 3 = column 0
    assert_tensor(
        "writes through views",
        &x,
        &[3, 4],
        &[4, 1],
        true,
        &[
            7.0, -1.0, -1.0, 7.0, 8.0, -1.0, -1.0, 8.0, 9.0, 0.5, 0.5, 9.0,
        ],
    );
    // A detached handle shares the storage too; cat's output does not.
    let c = Tensor::cat(&[&x, &x], 0);
    x.detach().fill_(2.0);
    assert_eq!(x.to_vec(), vec![2.0; 12]);
    assert_eq!(c.to_vec()[..4], [7.0, -1.0, -1.0, 7.0]);
}

#[test]
fn cat_along_each_dim_with_a_transposed_input() {
    let a = arange(0.0, 6.0, &[2, 3]);
    let b = arange(6.0, 12.0, &[3, 2]).t(); // [2, 3], non-contiguous
    let rows = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 7.0, 9.0, 11.0];
    let cols = [0.0, 1.0, 2.0, 6.0, 8.0, 10.0, 3.0, 4.0, 5.0, 7.0, 9.0, 11.0];
    for (dim, shape, strides, values) in [
        (0, [4, 3], [3, 1], rows),
        (1, [2, 6], [6, 1], cols),
        (-1, [2, 6], [6, 1], cols),
        (-2, [4, 3], [3, 1], rows),
    ] {
        let c = Tensor::cat(&[&a, &b], dim);
        assert_tensor(
            &format!("cat dim {dim}"),
            &c,
            &shape,
            &strides,
            true,
            &values,
        );
    }
    let p = arange(0.0, 12.0, &[2, 3, 2]);
    let q = arange(100.0, 108.0, &[2, 2, 2]).transpose(1, 2);
    assert_tensor(
        "cat 3-d dim 1",
        &Tensor::cat(&[&p, &q.narrow(1, 0, 1), &p], 1),
        &[2, 7, 2],
        &[14, 2, 1],
        true,
        &[
            0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 100.0, 102.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0,
            8.0, 9.0, 10.0, 11.0, 104.0, 106.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0,
        ],
    );
}

/// `(cat([x[:, 1:3], x[:, 0:1], x.t()[-1][:, None]], 1) * w).sum()`: each
/// element of x gets the weight of the output element it went to.
#[test]
fn gradients_through_narrow_select_and_cat_match_torch() {
    let x = arange(0.0, 12.0, &[3, 4]).requires_grad_(true);
    let y = Tensor::cat(
        &[
            &x.narrow(1, 1, 2),
            &x.select(1, 0).unsqueeze(1),
            &x.t().select(0, -1).unsqueeze(1),
        ],
        1,
    );
    y.mul(&arange(1.0, 13.0, &[3, 4])).sum().backward().unwrap();
    assert_eq!(
        x.grad().unwrap().to_vec(),
        vec![3.0, 1.0, 2.0, 4.0, 7.0, 5.0, 6.0, 8.0, 11.0, 9.0, 10.0, 12.0]
    );
}

/// In-place ops bump the storage's version (through any view of it), so an
/// op recorded before them fails its backward pass, as in PyTorch ("modified
/// by an inplace operation"); ops recorded after them see the new values.
#[test]
fn in_place_ops_bump_the_version() {
    let w = Tensor::from_vec(vec![1.0, 2.0, 3.0], &[3]).requires_grad_(true);
    type InPlace = fn(&Tensor);
    let in_place: [(&str, InPlace); 4] = [
        ("fill_", |x| {
            x.fill_(0.0);
        }),
        ("add_scalar_", |x| {
            x.add_scalar_(1.0);
        }),
        ("copy_", |x| {
            x.copy_(&Tensor::ones(&[3]));
        }),
        ("fill_ through select", |x| {
            x.select(0, 1).fill_(0.0);
        }),
    ];
    for (what, op) in in_place {
        let x = Tensor::from_vec(vec![4.0, 5.0, 6.0], &[3]);
        let loss = x.mul(&w).sum(); // mul saves x for w's gradient
        op(&x);
        let err = loss.backward().unwrap_err();
        assert!(
            matches!(
                err,
                BackwardError::ModifiedInPlace {
                    op: "mul",
                    input: 0,
                    version: 1,
                    recorded: 0
                }
            ),
            "{what}: {err:?}"
        );
        assert!(w.grad().is_none(), "{what}: no gradient moved");
        // Recorded after the change: no error, the gradient is the new x.
        let expected = x.to_vec();
        x.mul(&w).sum().backward().unwrap();
        assert_eq!(w.grad().unwrap().to_vec(), expected, "{what}");
        w.set_grad(None);
    }
}

/// Not recorded: an in-place change of a recorded op's output (or of a view
/// of it) makes a backward pass through that op an error, where PyTorch would
/// record the change and differentiate through it.
#[test]
fn in_place_on_a_recorded_tensor_makes_its_backward_an_error() {
    let w = Tensor::from_vec(vec![1.0, 2.0], &[2]).requires_grad_(true);
    let y = w.mul_scalar(3.0);
    y.select(0, 0).fill_(0.0);
    let err = y.sum().backward().unwrap_err();
    assert!(
        matches!(
            err,
            BackwardError::OutputModifiedInPlace {
                op: "mul_scalar",
                ..
            }
        ),
        "{err:?}"
    );
}

/// Under no_grad, in-place ops on a leaf that requires grad (and its views)
/// are allowed, as an optimizer's step is in PyTorch.
#[test]
fn in_place_on_a_grad_leaf_is_allowed_under_no_grad() {
    let w = Tensor::from_vec(vec![1.0, 2.0, 3.0], &[3]).requires_grad_(true);
    no_grad(|| {
        w.add_scalar_(1.0);
        w.narrow(0, 1, 2).fill_(0.0);
    });
    assert_eq!(w.to_vec(), vec![2.0, 0.0, 0.0]);
    assert!(w.requires_grad() && w.is_leaf());
}

#[test]
#[should_panic(
    expected = "fill_: a leaf Variable that requires grad is being used in an in-place operation"
)]
fn fill_on_a_grad_leaf_panics() {
    Tensor::ones(&[2]).requires_grad_(true).fill_(0.0);
}

#[test]
#[should_panic(
    expected = "add_scalar_: a leaf Variable that requires grad is being used in an in-place operation"
)]
fn add_scalar_on_a_grad_leaf_panics() {
    Tensor::ones(&[2]).requires_grad_(true).add_scalar_(5.0);
}

#[test]
#[should_panic(
    expected = "copy_: a leaf Variable that requires grad is being used in an in-place operation"
)]
fn copy_into_a_grad_leaf_panics() {
    Tensor::ones(&[2])
        .requires_grad_(true)
        .copy_(&Tensor::zeros(&[2]));
}

#[test]
#[should_panic(
    expected = "fill_: a view of a leaf Variable that requires grad is being used in an in-place operation"
)]
fn fill_on_a_view_of_a_grad_leaf_panics() {
    let w = Tensor::ones(&[2, 2]).requires_grad_(true);
    w.t().select(1, 0).fill_(0.0);
}

#[test]
#[should_panic(expected = "copy_: the source requires grad")]
fn copy_from_a_tensor_that_requires_grad_panics() {
    let w = Tensor::ones(&[2]).requires_grad_(true);
    Tensor::zeros(&[2]).copy_(&w);
}

#[test]
#[should_panic(expected = "copy_: a source of shape [3] does not broadcast to the shape [2, 2]")]
fn copy_from_a_source_that_does_not_broadcast_panics() {
    Tensor::zeros(&[2, 2]).copy_(&Tensor::zeros(&[3]));
}

#[test]
#[should_panic(
    expected = "narrow(): start 3 + length 2 exceeds the size 4 of dim -1 of a tensor of shape [4, 4]"
)]
fn narrow_out_of_range_panics() {
    Tensor::ones(&[4, 4]).narrow(-1, 3, 2);
}

#[test]
#[should_panic(
    expected = "select(): index -5 out of range for dim 1 of size 4 of a tensor of shape [4, 4]"
)]
fn select_out_of_range_panics() {
    Tensor::ones(&[4, 4]).select(1, -5);
}

#[test]
#[should_panic(expected = "select(): cannot be applied to a 0-dim tensor")]
fn select_of_a_0d_tensor_panics() {
    Tensor::scalar(1.0).select(0, 0);
}

#[test]
#[should_panic(expected = "dimension 2 out of range for a tensor of shape [4, 4]")]
fn narrow_of_a_dim_out_of_range_panics() {
    Tensor::ones(&[4, 4]).narrow(2, 0, 1);
}

#[test]
#[should_panic(expected = "cat(): shapes must match except in dim 1, got [[4, 4], [3, 3]]")]
fn cat_of_mismatched_shapes_panics() {
    Tensor::cat(&[&Tensor::ones(&[4, 4]), &Tensor::ones(&[3, 3])], 1);
}

#[test]
#[should_panic(expected = "cat(): shapes must match except in dim 0, got [[4, 4], [4]]")]
fn cat_of_different_ranks_panics() {
    Tensor::cat(&[&Tensor::ones(&[4, 4]), &Tensor::ones(&[4])], 0);
}

#[test]
#[should_panic(expected = "cat(): zero-dimensional tensor (at position 1) cannot be concatenated")]
fn cat_of_a_0d_tensor_panics() {
    Tensor::cat(&[&Tensor::ones(&[1]), &Tensor::scalar(1.0)], 0);
}

#[test]
#[should_panic(expected = "cat(): expected a non-empty list of tensors")]
fn cat_of_nothing_panics() {
    Tensor::cat(&[], 0);
}

// A view made under no_grad of a tensor that requires grad: torch 2.15 raises
// "A view was created in no_grad mode and is being modified inplace with grad
// mode enabled" for it, for a view of it, and for a view of a non-leaf; it
// allows the write under no_grad, through detach(), and for a plain tensor.

#[test]
#[should_panic(expected = "fill_: a view was created in no_grad mode")]
fn writing_a_no_grad_view_of_a_grad_leaf_with_grad_on_panics() {
    let w = Tensor::ones(&[2, 3]).requires_grad_(true);
    let v = no_grad(|| w.narrow(1, 0, 1));
    v.fill_(7.0);
}

#[test]
#[should_panic(expected = "add_scalar_: a view was created in no_grad mode")]
fn writing_a_view_of_a_no_grad_view_panics() {
    let w = Tensor::ones(&[2, 3]).requires_grad_(true);
    let v = no_grad(|| w.narrow(1, 0, 1));
    v.t().add_scalar_(1.0);
}

#[test]
#[should_panic(expected = "fill_: a view was created in no_grad mode")]
fn writing_a_no_grad_view_of_a_non_leaf_panics() {
    let w = Tensor::ones(&[2, 3]).requires_grad_(true);
    let h = w.mul_scalar(2.0);
    let v = no_grad(|| h.narrow(1, 0, 1));
    v.fill_(1.0);
}

#[test]
fn no_grad_views_may_be_written_under_no_grad_and_detached_or_plain_ones_always() {
    let w = Tensor::ones(&[2, 3]).requires_grad_(true);
    let v = no_grad(|| w.narrow(1, 0, 1));
    no_grad(|| v.fill_(3.0));
    assert_eq!(w.to_vec(), vec![3.0, 1.0, 1.0, 3.0, 1.0, 1.0]);
    w.detach().narrow(1, 0, 1).fill_(5.0);
    assert_eq!(w.to_vec(), vec![5.0, 1.0, 1.0, 5.0, 1.0, 1.0]);
    let x = Tensor::ones(&[3]);
    no_grad(|| x.narrow(0, 0, 1)).fill_(2.0);
    assert_eq!(x.to_vec(), vec![2.0, 1.0, 1.0]);
}

/// torch.cat skips 1-D empty tensors whatever the other shapes (torch 2.15:
/// `cat([zeros(0), ones(2, 3)], 1)` is `ones(2, 3)`).
#[test]
fn cat_skips_one_d_empty_tensors_as_pytorch_does() {
    let empty = Tensor::zeros(&[0]);
    let x = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).requires_grad_(true);
    for dim in [0, 1, -1] {
        let y = Tensor::cat(&[&empty, &x, &empty], dim);
        assert_eq!(y.shape(), [2, 3]);
        assert_eq!(y.to_vec(), x.to_vec());
    }
    let y = Tensor::cat(&[&empty, &x], 0);
    y.sum().backward().unwrap();
    assert_eq!(x.grad().unwrap().to_vec(), vec![1.0; 6]);
    assert_eq!(Tensor::cat(&[&empty, &empty], 0).shape(), [0]);
}

/// `copy()` is PyTorch's `clone()`: storage of its own, so writes to the
/// source (or to a view it was taken from) leave it alone, while `Clone` is a
/// second handle that sees them. The strides are kept where the elements
/// fill their block, as torch 2.15's `clone()` keeps them
/// (`arange(6).reshape(2, 3).t().clone().stride() == (1, 3)`,
/// `arange(20).reshape(1, 5, 4).select(1, 4).clone().stride() == (20, 1)`);
/// a strided narrow is copied row-major. Values checked by hand: the
/// transpose of [[0, 1, 2], [3, 4, 5]] is [[0, 3], [1, 4], [2, 5]].
#[test]
fn copy_owns_its_storage_and_clone_shares_it() {
    let base = arange(0.0, 6.0, &[2, 3]);
    let copied = base.t().copy();
    assert_tensor(
        "copy of a transpose",
        &copied,
        &[3, 2],
        &[1, 3],
        false,
        &[0.0, 3.0, 1.0, 4.0, 2.0, 5.0],
    );
    let selected = arange(0.0, 20.0, &[1, 5, 4]).select(1, 4).copy();
    assert_tensor(
        "copy of a row",
        &selected,
        &[1, 4],
        &[20, 1],
        true,
        &[16.0, 17.0, 18.0, 19.0],
    );
    let narrowed = base.narrow(1, 1, 2).copy();
    assert_tensor(
        "copy of a narrow",
        &narrowed,
        &[2, 2],
        &[2, 1],
        true,
        &[1.0, 2.0, 4.0, 5.0],
    );
    assert!(
        std::panic::catch_unwind(|| copied.view(&[6])).is_err(),
        "torch raises too"
    );
    let (handle, snapshot) = (base.detach().clone(), base.detach().copy());
    base.fill_(7.0);
    assert_eq!(handle.to_vec(), vec![7.0; 6], "a Clone shares storage");
    assert_eq!(snapshot.to_vec(), vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
    assert_eq!(copied.to_vec(), vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
    // And the other way: writing the copy leaves the source alone.
    snapshot.fill_(-1.0);
    assert_eq!(base.to_vec(), vec![7.0; 6]);
}

/// d/dx sum(copy(x) * x) = 2x: the copy passes its gradient back unchanged
/// and is recorded as PyTorch's `clone` (not under `no_grad`).
#[test]
fn copy_is_differentiable_and_not_recorded_under_no_grad() {
    let x = Tensor::from_vec(vec![1.0, -2.0, 3.0], &[3]).requires_grad_(true);
    let y = x.copy();
    assert!(y.requires_grad());
    assert_eq!(y.grad_fn(), Some("CloneBackward0"));
    y.mul(&x).sum().backward().unwrap();
    assert_eq!(x.grad().unwrap().to_vec(), vec![2.0, -4.0, 6.0]);

    let z = no_grad(|| x.copy());
    assert!(!z.requires_grad());
    assert_eq!(z.grad_fn(), None);
    assert_eq!(z.to_vec(), vec![1.0, -2.0, 3.0]);
}

/// `view` and `reshape` against torch's `view` on strided tensors (an arange
/// reshaped, permuted and maybe narrowed; tests/pytorch/view_strides.py):
/// where torch's `view` works, ours gives the same strides and values and so
/// does `reshape` (a view, as torch's); where torch raises, ours panics and
/// `reshape` copies into a contiguous tensor with the same values.
#[test]
fn view_and_reshape_follow_pytorchs_stride_rule() {
    let text = include_str!("pytorch/view_strides.json");
    let json: serde_json::Value = serde_json::from_str(text).unwrap();
    let dims = |v: &serde_json::Value| -> Vec<usize> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_u64().unwrap() as usize)
            .collect()
    };
    let cases = json["cases"].as_array().unwrap();
    for (i, case) in cases.iter().enumerate() {
        let shape = dims(&case["shape"]);
        let numel: usize = shape.iter().product();
        let mut t = arange(0.0, numel as f32, &[numel])
            .reshape(&shape)
            .permute(&dims(&case["perm"]));
        if !case["narrow"].is_null() {
            let n = dims(&case["narrow"]);
            t = t.narrow(n[0] as isize, n[1], n[2]);
        }
        assert_eq!(t.is_contiguous(), case["contiguous"].as_bool().unwrap());
        let new = dims(&case["view"]);
        let what = format!(
            "case {i}: {:?} strides {:?} viewed as {new:?}",
            t.shape(),
            t.strides()
        );
        let reshaped = t.reshape(&new);
        assert_eq!(reshaped.to_vec(), t.to_vec(), "{what}: reshape's values");
        let viewed = std::panic::catch_unwind(|| t.view(&new));
        if case.get("error").is_some() {
            assert!(viewed.is_err(), "{what}: torch's view raises");
            assert!(reshaped.is_contiguous(), "{what}: reshape copies");
        } else {
            let viewed = viewed.unwrap_or_else(|_| panic!("{what}: torch's view works"));
            let strides = dims(&case["strides"]);
            assert_eq!(viewed.strides(), strides, "{what}: view's strides");
            assert_eq!(reshaped.strides(), strides, "{what}: reshape's strides");
            let values: Vec<f32> = case["values"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap() as f32)
                .collect();
            assert_eq!(viewed.to_vec(), values, "{what}: view's values");
        }
    }
}

/// A view (and a reshape that needs no copy) writes through to its base; a
/// reshape that no view can express (flattening a transpose) copies, as in
/// PyTorch. The gradient of a view reaches the base reshaped back.
#[test]
fn views_from_view_and_reshape_share_storage() {
    let x = arange(0.0, 6.0, &[2, 3]);
    x.view(&[3, 2]).select(0, 0).fill_(-1.0);
    assert_eq!(x.to_vec(), vec![-1.0, -1.0, 2.0, 3.0, 4.0, 5.0]);
    // [3, 2] transpose of x, split into [3, 1, 2]: a view.
    x.t().reshape(&[3, 1, 2]).select(0, 2).fill_(9.0);
    assert_eq!(x.to_vec(), vec![-1.0, -1.0, 9.0, 3.0, 4.0, 9.0]);
    // Flattening the transpose: a copy.
    x.t().reshape(&[6]).fill_(0.0);
    assert_eq!(x.to_vec(), vec![-1.0, -1.0, 9.0, 3.0, 4.0, 9.0]);

    let w = arange(1.0, 7.0, &[2, 3]).requires_grad_(true);
    let v = w.t().view(&[3, 1, 2]);
    assert!(!v.is_leaf());
    v.mul(&v).sum().backward().unwrap();
    assert_eq!(
        w.grad().unwrap().to_vec(),
        vec![2.0, 4.0, 6.0, 8.0, 10.0, 12.0]
    );
}

/// A reshape, view or squeeze that changes nothing is still a new tensor, a
/// view and not a leaf, as in PyTorch: it was the input itself, so it kept
/// the input's gradient.
#[test]
fn a_view_that_changes_nothing_is_a_new_tensor() {
    let x = arange(1.0, 5.0, &[2, 2]).requires_grad_(true);
    for y in [x.reshape(&[2, 2]), x.view(&[2, 2]), x.squeeze(0), x.t().t()] {
        assert!(!y.is_leaf());
        y.mul(&y).sum().backward().unwrap();
        assert!(y.grad().is_none(), "only leaves keep a grad");
    }
    assert_eq!(x.grad().unwrap().to_vec(), vec![8.0, 16.0, 24.0, 32.0]);
    let one_d = arange(1.0, 3.0, &[2]);
    assert_eq!(one_d.t().shape(), &[2], "t() of a 1-D tensor, as PyTorch");
    // flatten with nothing to merge is the input itself in PyTorch (`x.flatten(1, 1) is x`).
    assert!(x.flatten_dims(1, 1).same(&x));
    assert!(one_d.flatten(0).same(&one_d));
}

/// `unsqueeze` and `squeeze` keep the other dims' strides, as torch 2.15's
/// (`arange(6).reshape(2, 3).t().unsqueeze(2).stride() == (1, 3, 1)`,
/// `arange(2).reshape(2, 1).t().unsqueeze(2)`: `(1, 1, 1)`,
/// `arange(6).reshape(2, 1, 3).narrow(2, 0, 1).squeeze(2)`: `(3, 3)`,
/// `arange(15).reshape(5, 3).narrow(1, 0, 0).unsqueeze(0)`: `(15, 3, 1)`),
/// and are views that the gradient passes back through.
#[test]
fn unsqueeze_and_squeeze_keep_pytorchs_strides() {
    assert_eq!(
        arange(0.0, 6.0, &[2, 3]).t().unsqueeze(2).strides(),
        [1, 3, 1]
    );
    assert_eq!(
        arange(0.0, 2.0, &[2, 1]).t().unsqueeze(2).strides(),
        [1, 1, 1]
    );
    let narrowed = arange(0.0, 6.0, &[2, 1, 3]).narrow(2, 0, 1);
    assert_eq!(narrowed.squeeze(2).strides(), [3, 3]);
    let empty = arange(0.0, 15.0, &[5, 3]).narrow(1, 0, 0);
    assert_eq!(empty.unsqueeze(0).strides(), [15, 3, 1]);

    let x = arange(0.0, 6.0, &[2, 3]);
    x.t().unsqueeze(1).select(0, 2).fill_(-1.0); // x[:, 2] = -1, through the views
    assert_eq!(x.to_vec(), vec![0.0, 1.0, -1.0, 3.0, 4.0, -1.0]);

    let w = arange(1.0, 4.0, &[3]).requires_grad_(true);
    let u = w.unsqueeze(0);
    assert_eq!(u.grad_fn(), Some("UnsqueezeBackward0"));
    let s = u.squeeze(0);
    assert_eq!(s.grad_fn(), Some("SqueezeBackward1"));
    s.mul(&s).sum().backward().unwrap();
    assert_eq!(w.grad().unwrap().to_vec(), vec![2.0, 4.0, 6.0]);
}

/// A view made under no_grad of a tensor that requires grad is, as in torch
/// 2.15, a leaf that requires grad: ops on it in grad mode are recorded
/// (`SelectBackward0`), and a backward pass through it succeeds, but fills
/// neither its grad nor its base's (`(v * 2).sum().backward()` leaves both None).
#[test]
fn a_view_made_under_no_grad_is_a_leaf_that_requires_grad() {
    let x = Tensor::zeros(&[2, 3]).requires_grad_(true);
    let v = no_grad(|| x.t());
    assert!(v.requires_grad() && v.is_leaf());
    let s = v.select(0, 0);
    assert!(s.requires_grad() && !s.is_leaf());
    assert_eq!(s.grad_fn(), Some("SelectBackward0"));
    v.mul_scalar(2.0).sum().backward().unwrap();
    assert!(v.grad().is_none() && x.grad().is_none());
}
