//! PyTorch's autograd semantics: accumulation, zeroing, no_grad, detach, and
//! the errors of backward().

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use autograd::{no_grad, BackwardError, BackwardOptions, NoGradGuard, Tensor};

fn leaf(v: &[f32]) -> Tensor {
    Tensor::from_slice(v, &[v.len()]).requires_grad_(true)
}

#[test]
fn gradients_accumulate_until_zeroed() {
    let x = leaf(&[1.0, 2.0]);
    // d/dx sum(3x) = 3, twice -> 6
    x.mul_scalar(3.0).sum().backward().unwrap();
    x.mul_scalar(3.0).sum().backward().unwrap();
    assert_eq!(x.grad().unwrap().to_vec(), vec![6.0, 6.0]);
    // zero_grad(set_to_none=False) keeps the buffer, filled with zeros
    x.zero_grad_();
    assert_eq!(x.grad().unwrap().to_vec(), vec![0.0, 0.0]);
    x.mul(&x).sum().backward().unwrap();
    assert_eq!(x.grad().unwrap().to_vec(), vec![2.0, 4.0]);
    // set to none
    x.set_grad(None);
    assert!(x.grad().is_none());
}

#[test]
fn a_held_grad_sees_later_accumulation_like_pytorch() {
    let x = leaf(&[1.0]);
    x.mul_scalar(2.0).sum().backward().unwrap();
    let g = x.grad().unwrap();
    x.mul_scalar(2.0).sum().backward().unwrap();
    assert_eq!(g.to_vec(), vec![4.0]);
    // Views and detached handles of the grad too (PyTorch 2.15: x.grad.detach()
    // and x.grad.view(...) taken after the first pass both read the sum).
    let x = leaf(&[1.0, 1.0]);
    x.mul_scalar(2.0).sum().backward().unwrap();
    let (detached, view) = (
        x.grad().unwrap().detach(),
        x.grad().unwrap().reshape(&[2, 1]),
    );
    x.mul_scalar(3.0).sum().backward().unwrap();
    assert_eq!(detached.to_vec(), vec![5.0, 5.0]);
    assert_eq!(view.to_vec(), vec![5.0, 5.0]);
    assert_eq!(x.grad().unwrap().to_vec(), vec![5.0, 5.0]);
}

#[test]
fn shared_gradient_buffers_are_not_corrupted_by_accumulation() {
    // add's backward hands the same gradient to both inputs; accumulating into
    // one leaf must not change the other.
    let (a, b) = (leaf(&[1.0]), leaf(&[1.0]));
    a.add(&b).sum().backward().unwrap();
    a.add(&b).sum().backward().unwrap();
    a.mul_scalar(5.0).sum().backward().unwrap();
    assert_eq!(a.grad().unwrap().to_vec(), vec![7.0]);
    assert_eq!(b.grad().unwrap().to_vec(), vec![2.0]);
}

#[test]
fn intermediate_tensors_keep_no_grad() {
    let x = leaf(&[1.0, 2.0]);
    let h = x.mul_scalar(2.0);
    h.sum().backward().unwrap();
    assert!(h.grad().is_none());
    assert!(!h.is_leaf() && x.is_leaf());
}

#[test]
fn no_grad_records_nothing_and_restores_the_mode() {
    let x = leaf(&[1.0]);
    let y = no_grad(|| x.mul_scalar(2.0));
    assert!(!y.requires_grad() && y.grad_fn().is_none());
    {
        let _guard = NoGradGuard::new();
        assert!(!autograd::is_grad_enabled());
        assert!(!x.exp().requires_grad());
    }
    assert!(autograd::is_grad_enabled());
    assert_eq!(x.exp().grad_fn(), Some("ExpBackward0"));
    assert_eq!(y.sum().backward(), Err(BackwardError::DoesNotRequireGrad));
}

#[test]
fn detach_cuts_the_graph_and_shares_storage() {
    let x = leaf(&[3.0]);
    let d = x.detach();
    assert!(!d.requires_grad());
    // y = x * detach(x): dy/dx = detach(x) = 3, not 2x = 6
    x.mul(&d).sum().backward().unwrap();
    assert_eq!(x.grad().unwrap().to_vec(), vec![3.0]);
    x.with_data_mut(|v| v[0] = 5.0);
    assert_eq!(d.item(), 5.0);
}

#[test]
fn backward_of_a_non_scalar_needs_a_gradient() {
    let x = leaf(&[1.0, 2.0]);
    let y = x.mul_scalar(2.0);
    let err = y.backward().unwrap_err();
    assert_eq!(err, BackwardError::NotScalar { shape: vec![2] });
    assert!(err.to_string().contains("only for scalar outputs"));
    y.backward_with(Tensor::from_vec(vec![1.0, 10.0], &[2]))
        .unwrap();
    assert_eq!(x.grad().unwrap().to_vec(), vec![2.0, 20.0]);
    assert!(matches!(
        y.backward_with(Tensor::ones(&[3])),
        Err(BackwardError::GradShape { .. })
    ));
}

#[test]
fn a_second_backward_through_a_freed_graph_is_an_error() {
    let x = leaf(&[1.0, 2.0]);
    let loss = x.exp().sum();
    loss.backward().unwrap();
    let err = loss.backward().unwrap_err();
    assert!(matches!(err, BackwardError::GraphFreed { .. }), "{err:?}");
    assert!(err.to_string().contains("second time"));
    // The leaf's gradient is from the first pass only.
    let e: Vec<f32> = [1.0f32, 2.0].iter().map(|v| v.exp()).collect();
    assert_eq!(x.grad().unwrap().to_vec(), e);
}

fn retain(gradient: Option<Tensor>) -> BackwardOptions {
    BackwardOptions {
        gradient,
        retain_graph: true,
    }
}

/// The "Tensor Gradients and Jacobian Products" part of PyTorch's autograd
/// tutorial: d/dx (x + 1)^2 = 2 (x + 1), so 4 on eye(4, 5)'s diagonal and 2
/// elsewhere; a second retained pass adds as much again.
#[test]
fn retain_graph_allows_more_passes_as_in_the_autograd_tutorial() {
    let inp = Tensor::eye(4, 5).requires_grad_(true);
    let out = inp.add_scalar(1.0).pow(2.0).t();
    let once: Vec<f32> = (0..20)
        .map(|i| if i / 5 == i % 5 { 4.0 } else { 2.0 })
        .collect();
    let twice: Vec<f32> = once.iter().map(|v| 2.0 * v).collect();

    out.backward_opts(retain(Some(Tensor::ones_like(&out))))
        .unwrap();
    assert_eq!(inp.grad().unwrap().to_vec(), once);
    out.backward_opts(retain(Some(Tensor::ones_like(&out))))
        .unwrap();
    assert_eq!(inp.grad().unwrap().to_vec(), twice);
    inp.zero_grad_();
    out.backward_opts(retain(Some(Tensor::ones_like(&out))))
        .unwrap();
    assert_eq!(inp.grad().unwrap().to_vec(), once);
    // A pass without retain_graph frees the graph; the one after is an error.
    out.backward_with(Tensor::ones_like(&out)).unwrap();
    assert_eq!(inp.grad().unwrap().to_vec(), twice);
    let err = out.backward_with(Tensor::ones_like(&out)).unwrap_err();
    assert!(matches!(err, BackwardError::GraphFreed { .. }), "{err:?}");
}

/// Every rule run twice on its retained graph gives exactly twice one pass
/// (doubling is exact in floating point): no rule may consume or overwrite
/// what it saved, though some reuse the incoming gradient's buffer.
#[test]
fn a_retained_graph_gives_the_same_gradients_again() {
    let make = || {
        let x =
            Tensor::from_vec(vec![0.5, -1.5, 2.0, 0.25, -0.75, 1.25], &[2, 3]).requires_grad_(true);
        let w = Tensor::from_vec((0..12).map(|i| 0.1 * i as f32 - 0.5).collect(), &[4, 3])
            .requires_grad_(true);
        let b = Tensor::from_vec(vec![0.1, -0.2, 0.3, 0.0], &[4]).requires_grad_(true);
        let h = x.linear_relu(&w, Some(&b));
        let h = h.linear(&w.t().contiguous(), None).tanh().mul(&x.sigmoid());
        let y = h
            .exp()
            .add(&x.pow(2.0))
            .div(&x.mul(&x).add_scalar(1.0))
            .sqrt();
        let z = y.matmul(&w.t()).log_softmax(1);
        let target = Tensor::from_vec(vec![2.0, 0.0], &[2, 1]);
        let loss = z
            .gather(1, &target)
            .mean()
            .neg()
            .add(&z.softmax(0).max_dim(1, false).0.sum());
        (loss, [x, w, b])
    };
    let (loss, leaves) = make();
    loss.backward_opts(retain(None)).unwrap();
    let first: Vec<Vec<f32>> = leaves.iter().map(|t| t.grad().unwrap().to_vec()).collect();
    loss.backward().unwrap();
    for (leaf, first) in leaves.iter().zip(&first) {
        let doubled: Vec<f32> = first.iter().map(|v| 2.0 * v).collect();
        assert_eq!(leaf.grad().unwrap().to_vec(), doubled);
    }
    // And a fresh graph's single pass is the first one, bit for bit.
    let (loss, leaves) = make();
    loss.backward().unwrap();
    for (leaf, first) in leaves.iter().zip(&first) {
        assert_eq!(&leaf.grad().unwrap().to_vec(), first);
    }
}

#[test]
fn a_retained_graph_still_checks_versions() {
    let w = leaf(&[1.0, 2.0]);
    let loss = w.exp().sum();
    loss.backward_opts(retain(None)).unwrap();
    no_grad(|| w.with_data_mut(|d| d[0] = 5.0));
    let err = loss.backward().unwrap_err();
    assert!(
        matches!(err, BackwardError::ModifiedInPlace { .. }),
        "{err:?}"
    );
}

/// Dropped when the closure that owns it is dropped.
struct DropFlag(Arc<AtomicBool>);
impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[test]
fn backward_releases_the_graph_memory() {
    let x = leaf(&[1.0]);
    let dropped = Arc::new(AtomicBool::new(false));
    let flag = DropFlag(dropped.clone());
    let y = Tensor::from_op(vec![2.0], &[1], "probe", &[&x], move |g| {
        let _keep = &flag;
        vec![Some(g.mul_scalar(2.0))]
    });
    let loss = y.sum();
    assert!(!dropped.load(Ordering::SeqCst));
    loss.backward().unwrap();
    assert!(
        dropped.load(Ordering::SeqCst),
        "saved state must be freed by backward"
    );
    assert_eq!(x.grad().unwrap().to_vec(), vec![2.0]);
}

#[test]
fn deep_graphs_do_not_overflow_the_stack() {
    let x = leaf(&[1.0]);
    let mut y = x.clone();
    for _ in 0..100_000 {
        y = y.add_scalar(1.0);
    }
    y.sum().backward().unwrap();
    assert_eq!(x.grad().unwrap().to_vec(), vec![1.0]);
}

/// Dropping a deep graph that never ran backward frees it with a loop: a
/// chain of 100k ops recursed once per node and aborted the process.
#[test]
fn dropping_a_deep_graph_without_backward_does_not_overflow_the_stack() {
    let x = leaf(&[1.0, 2.0]);
    let freed = Arc::new(AtomicUsize::new(0));
    let mut y = probe(&[&x], &freed);
    for _ in 0..100_000 {
        y = y.mul_scalar(1.0).add_scalar(0.0);
    }
    drop(y);
    // The closure at the bottom of the 200k ops was freed, once.
    assert_eq!(freed.load(Ordering::SeqCst), 1);
    // The leaf is untouched and still usable.
    x.mul_scalar(2.0).sum().backward().unwrap();
    assert_eq!(x.grad().unwrap().to_vec(), vec![2.0, 2.0]);
}

/// Counts its drops.
struct DropCount(Arc<AtomicUsize>);
impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// An op on `inputs` whose backward closure counts its drop in `freed`.
fn probe(inputs: &[&Tensor], freed: &Arc<AtomicUsize>) -> Tensor {
    let count = DropCount(freed.clone());
    let n = inputs.len();
    Tensor::from_op(
        inputs[0].to_vec(),
        inputs[0].shape(),
        "probe",
        inputs,
        move |g| {
            let _keep = &count;
            vec![Some(g.clone()); n]
        },
    )
}

/// Dropping graphs where tensors have several consumers (a deep chain of
/// diamonds, a wide fan-in of one tensor, an op taking the same tensor
/// twice) frees every node exactly once, however the last handle is
/// reached, and leaves what is still held usable.
#[test]
fn dropping_shared_subgraphs_frees_every_node_once() {
    let x = leaf(&[3.0]);
    let freed = Arc::new(AtomicUsize::new(0));
    // Diamonds: y -> (a, b) -> y', 50k deep.
    let mut y = probe(&[&x], &freed);
    for _ in 0..50_000 {
        let (a, b) = (probe(&[&y], &freed), probe(&[&y], &freed));
        y = probe(&[&a, &b], &freed);
    }
    drop(y);
    assert_eq!(freed.load(Ordering::SeqCst), 1 + 3 * 50_000);

    // One tensor read by 1000 ops, summed in a chain; `shared` still held.
    freed.store(0, Ordering::SeqCst);
    let shared = probe(&[&x], &freed);
    let mut total = probe(&[&shared, &shared], &freed);
    for _ in 0..1000 {
        total = probe(&[&total, &probe(&[&shared], &freed)], &freed);
    }
    drop(total);
    assert_eq!(freed.load(Ordering::SeqCst), 1 + 2 * 1000);
    // The held tensor keeps its node: backward through it still works (and
    // frees its closure).
    shared.sum().backward().unwrap();
    assert_eq!(x.grad().unwrap().to_vec(), vec![1.0]);
    assert_eq!(freed.load(Ordering::SeqCst), 2 + 2 * 1000);
}

/// Values and gradients (x, w, b) of `linear_relu` (`fused`) or of `linear`
/// then `relu`, with `up` as the output's gradient.
fn linear_relu_run(x: &Tensor, w: &Tensor, b: &Tensor, up: &Tensor, fused: bool) -> [Vec<f32>; 4] {
    let [x, w, b] = [x, w, b].map(|t| t.detach().requires_grad_(true));
    let y = if fused {
        x.linear_relu(&w, Some(&b))
    } else {
        x.linear(&w, Some(&b)).relu()
    };
    let values = y.to_vec();
    y.backward_with(up.clone()).unwrap();
    let grad = |t: &Tensor| t.grad().unwrap().to_vec();
    [values, grad(&x), grad(&w), grad(&b)]
}

/// `linear_relu` is `linear` then `relu`, bit for bit, values and gradients,
/// at the training step's shapes (both orientations of the AVX-512 kernel,
/// ragged tiles) and at odd ones.
#[test]
fn linear_relu_equals_linear_then_relu_bitwise() {
    let mut g = autograd::Generator::new(5);
    for (rows, fan_in, fan_out) in [(64, 784, 512), (64, 512, 10), (7, 13, 33), (3, 1, 2)] {
        let x = Tensor::rand_uniform(&[rows, fan_in], -1.0, 1.0, &mut g);
        let w = Tensor::rand_uniform(&[fan_out, fan_in], -0.1, 0.1, &mut g);
        let b = Tensor::rand_uniform(&[fan_out], -0.1, 0.1, &mut g);
        let up = Tensor::rand_uniform(&[rows, fan_out], -1.0, 1.0, &mut g);
        let run = |fused| linear_relu_run(&x, &w, &b, &up, fused).map(|v| bits(&v));
        assert_eq!(run(true), run(false), "{rows}x{fan_in} -> {fan_out}");
    }
}

/// ReLU keeps NaN as NaN, as PyTorch's does (a NaN must not turn into a
/// silently plausible 0), fused or not.
#[test]
fn relu_propagates_nan() {
    let x = Tensor::from_vec(vec![f32::NAN, -1.0, 2.0], &[1, 3]);
    let y = x.relu().to_vec();
    assert!(y[0].is_nan());
    assert_eq!(&y[1..], &[0.0, 2.0]);
    // Through the fused op: a NaN input makes every output NaN (0 * NaN is
    // NaN), and ReLU must not turn them into zeros.
    let w = Tensor::from_vec(vec![1.0, 0.0, 0.0, 0.0, -1.0, 0.0], &[2, 3]);
    let z = x.linear_relu(&w, None).to_vec();
    assert!(z.iter().all(|z| z.is_nan()), "{z:?}");
    let z = x.relu().linear_relu(&w, None).to_vec();
    assert!(z.iter().all(|z| z.is_nan()), "{z:?}");
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|v| v.to_bits()).collect()
}

/// ReLU's values and gradients at its edge values, as PyTorch 2.15 gives
/// them on the CPU (tests/pytorch/relu_edge_values.py): NaN and -0.0 pass
/// unchanged; the gradient (`threshold_backward`: 0 where x <= 0) passes at
/// NaN and is 0 at either zero. The op alone, then fused into a linear layer.
#[test]
fn relu_edge_values_match_pytorch() {
    let (inf, nan) = (f32::INFINITY, f32::NAN);
    let up = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0], &[7]);
    let x = leaf(&[nan, -0.0, 0.0, -1.0, 2.0, -inf, inf]);
    let y = x.relu();
    assert_eq!(
        bits(&y.to_vec()),
        bits(&[nan, -0.0, 0.0, 0.0, 2.0, 0.0, inf])
    );
    y.backward_with(up.clone()).unwrap();
    assert_eq!(
        x.grad().unwrap().to_vec(),
        [1.0, 0.0, 0.0, 0.0, 5.0, 0.0, 7.0]
    );

    // One input per row, weight 1e-30: -1e-30 * 1e-30 underflows to -0.0,
    // and the -0.0 bias keeps it -0.0.
    for fused in [true, false] {
        let x = Tensor::from_vec(vec![nan, -1e-30, 0.0, -1.0, 2.0, -inf, inf], &[7, 1])
            .requires_grad_(true);
        let w = Tensor::from_vec(vec![1e-30], &[1, 1]).requires_grad_(true);
        let b = leaf(&[-0.0]);
        let y = if fused {
            x.linear_relu(&w, Some(&b))
        } else {
            x.linear(&w, Some(&b)).relu()
        };
        assert_eq!(
            bits(&y.to_vec()),
            bits(&[nan, -0.0, 0.0, 0.0, 2e-30, 0.0, inf]),
            "fused {fused}"
        );
        y.backward_with(up.reshape(&[7, 1])).unwrap();
        assert_eq!(
            x.grad().unwrap().to_vec(),
            [1e-30, 0.0, 0.0, 0.0, 5e-30, 0.0, 7e-30],
            "fused {fused}"
        );
        assert!(w.grad().unwrap().item().is_nan(), "fused {fused}");
        assert_eq!(b.grad().unwrap().to_vec(), [13.0], "fused {fused}");
    }
}

/// A NaN in one input row of a training-sized layer (the AVX-512 kernel's
/// shapes): that row's outputs are all NaN and pass their gradients on, as
/// in PyTorch. The fused op's values and gradients are those of linear then
/// relu, bit for bit, and those of an f64 computation of the unfused
/// definition (NaN exactly where it has NaN).
#[test]
fn linear_relu_passes_gradients_through_nan_rows() {
    let (rows, fan_in, fan_out) = (64, 784, 512);
    let (nan_row, nan_col) = (17, 300);
    let mut g = autograd::Generator::new(21);
    let mut xv = Tensor::rand_uniform(&[rows, fan_in], -1.0, 1.0, &mut g).to_vec();
    xv[nan_row * fan_in + nan_col] = f32::NAN;
    let w = Tensor::rand_uniform(&[fan_out, fan_in], -0.1, 0.1, &mut g);
    let b = Tensor::rand_uniform(&[fan_out], -0.1, 0.1, &mut g);
    let up = Tensor::rand_uniform(&[rows, fan_out], -1.0, 1.0, &mut g);
    let x = Tensor::from_vec(xv.clone(), &[rows, fan_in]);
    let run = |fused| linear_relu_run(&x, &w, &b, &up, fused);
    let [y, dx, dw, db] = run(true);
    let split = run(false);
    for (name, (got, want)) in ["y", "dx", "dw", "db"]
        .iter()
        .zip([&y, &dx, &dw, &db].iter().zip(&split))
    {
        assert_eq!(bits(got), bits(want), "{name}: fused and split differ");
    }
    assert!(y[nan_row * fan_out..][..fan_out].iter().all(|v| v.is_nan()));

    // The unfused definition in f64: the upstream gradient where y is not <= 0.
    let (wv, upv) = (w.to_vec(), up.to_vec());
    let gy: Vec<f64> = (0..rows * fan_out)
        .map(|k| if y[k] <= 0.0 { 0.0 } else { upv[k] as f64 })
        .collect();
    let close = |what: String, got: f32, want: f64| {
        if want.is_nan() {
            assert!(got.is_nan(), "{what}: {got}, want NaN");
        } else {
            assert!(
                (got as f64 - want).abs() < 1e-4 * (1.0 + want.abs()),
                "{what}: {got}, want {want}"
            );
        }
    };
    for o in 0..fan_out {
        let want: f64 = (0..rows).map(|r| gy[r * fan_out + o]).sum();
        close(format!("db[{o}]"), db[o], want);
        for i in 0..fan_in {
            let want: f64 = (0..rows)
                .map(|r| gy[r * fan_out + o] * xv[r * fan_in + i] as f64)
                .sum();
            close(format!("dw[{o},{i}]"), dw[o * fan_in + i], want);
        }
    }
    for r in 0..rows {
        for i in 0..fan_in {
            let want: f64 = (0..fan_out)
                .map(|o| gy[r * fan_out + o] * wv[o * fan_in + i] as f64)
                .sum();
            close(format!("dx[{r},{i}]"), dx[r * fan_in + i], want);
        }
    }
}

/// The fused ReLU keeps -0.0 (as `torch.relu` does) and gives +0.0 for
/// negative values, as `relu` does, and an empty input dimension gives the
/// bias, as in PyTorch.
#[test]
fn linear_relu_edge_values() {
    // x . w = -1e-30 * 1e-30 underflows to -0.0; plus a -0.0 bias stays -0.0.
    let x = Tensor::from_vec(vec![-1e-30], &[1, 1]);
    let w = Tensor::from_vec(vec![1e-30, -1.0], &[2, 1]);
    let b = Tensor::from_vec(vec![-0.0, 0.5], &[2]);
    let fused = x.linear_relu(&w, Some(&b)).to_vec();
    let split = x.linear(&w, Some(&b)).relu().to_vec();
    assert_eq!(bits(&fused), bits(&split));
    assert_eq!(bits(&fused), bits(&[-0.0, 0.5]));
    // in_features = 0: the output is the bias.
    let x = Tensor::zeros(&[3, 0]);
    let w = Tensor::zeros(&[4, 0]);
    let b = Tensor::from_vec(vec![1.0, -2.0, 3.0, -4.0], &[4]);
    assert_eq!(
        x.linear(&w, Some(&b)).to_vec(),
        [1.0, -2.0, 3.0, -4.0].repeat(3)
    );
    assert_eq!(
        x.linear_relu(&w, Some(&b)).to_vec(),
        [1.0, 0.0, 3.0, 0.0].repeat(3)
    );
}

/// PyTorch's version counter: an input changed in place after the op that
/// read it (an optimizer step between forward and backward, the classic
/// mistake) makes the backward pass an error, before any gradient moves;
/// changes after the pass, or to tensors outside the graph, are fine.
#[test]
fn an_input_changed_in_place_before_backward_is_an_error() {
    let x = Tensor::from_vec(vec![1.0, 2.0], &[1, 2]);
    let w = Tensor::from_vec(vec![0.5, -0.5, 1.0, 1.0], &[2, 2]).requires_grad_(true);
    let b = Tensor::from_vec(vec![0.1, 0.2], &[2]).requires_grad_(true);
    let loss = x.linear(&w, Some(&b)).sum();
    w.with_data_mut(|v| v[0] -= 0.1); // a "step" before backward
    let err = loss.backward().unwrap_err();
    assert!(
        matches!(
            err,
            BackwardError::ModifiedInPlace {
                op: "linear",
                input: 1,
                version: 1,
                recorded: 0
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("modified by an inplace operation"),
        "{err}"
    );
    assert!(
        w.grad().is_none() && b.grad().is_none(),
        "no gradient moved"
    );

    // Through another view of the same storage: the same error.
    let loss = x.linear(&w, Some(&b)).sum();
    w.detach().with_data_mut(|v| v[1] += 1.0);
    assert!(matches!(
        loss.backward(),
        Err(BackwardError::ModifiedInPlace { .. })
    ));

    // After the pass, or outside the graph: no error.
    let unrelated = Tensor::zeros(&[2]);
    let loss = x.linear(&w, Some(&b)).sum();
    unrelated.with_data_mut(|v| v[0] = 1.0);
    loss.backward().unwrap();
    w.with_data_mut(|v| v[0] = 0.0);
    assert_eq!(b.grad().unwrap().to_vec(), vec![1.0, 1.0]);
}

/// What the version counter also covers (PyTorch raises for both): a mask
/// given to `mul_mask` and an op's own output that its rule reads (exp's),
/// each changed in place before the backward pass.
#[test]
fn a_mask_or_an_output_changed_in_place_is_an_error() {
    let x = Tensor::from_vec(vec![1.0, 2.0], &[2]).requires_grad_(true);
    let mask = Tensor::from_vec(vec![2.0, 0.0], &[2]);
    let loss = x.mul_mask(&mask).sum();
    mask.with_data_mut(|m| m[1] = 5.0);
    let err = loss.backward().unwrap_err();
    assert!(
        matches!(
            err,
            BackwardError::ModifiedInPlace {
                op: "mul_mask",
                input: 1,
                ..
            }
        ),
        "{err:?}"
    );
    let e = x.exp();
    e.with_data_mut(|v| v[0] += 1.0);
    let err = e.backward_with(Tensor::ones(&[2])).unwrap_err();
    assert!(
        matches!(
            err,
            BackwardError::OutputModifiedInPlace {
                op: "exp",
                version: 1,
                recorded: 0
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("the output of 'exp'"), "{err}");
    assert!(x.grad().is_none());
}

/// Which inputs get a gradient is fixed when an op runs, as in PyTorch: a
/// flag turned on between the forward and the backward pass gives nothing
/// (`y = (x * w).sum(); w.requires_grad_(True); y.backward()` leaves
/// `w.grad` None), and one turned off then stops the leaf's gradient.
#[test]
fn requires_grad_counts_as_it_was_when_the_op_ran() {
    let x = leaf(&[1.0, 2.0]);
    let w = Tensor::from_slice(&[3.0, 4.0], &[2]);
    let y = x.mul(&w).sum();
    let w = w.requires_grad_(true);
    y.backward().unwrap();
    assert!(w.grad().is_none());
    assert_eq!(x.grad().unwrap().to_vec(), vec![3.0, 4.0]);

    let (x, w) = (leaf(&[1.0, 2.0]), leaf(&[3.0, 4.0]));
    let y = x.mul(&w).sum();
    let w = w.requires_grad_(false);
    y.backward().unwrap();
    assert!(w.grad().is_none());
    assert_eq!(x.grad().unwrap().to_vec(), vec![3.0, 4.0]);
}

/// `zero_grad(set_to_none=False)` on a gradient the user set as a strided
/// view zeroes it through the view (it panicked), as PyTorch's `zero_()`.
#[test]
fn zero_grad_in_place_writes_through_a_strided_grad() {
    let x = Tensor::from_slice(&[1.0, 2.0, 3.0, 4.0], &[2, 2]).requires_grad_(true);
    let m = Tensor::from_slice(&[10.0, 20.0, 30.0, 40.0], &[2, 2]);
    x.set_grad(Some(m.t()));
    x.zero_grad_();
    assert_eq!(m.to_vec(), vec![0.0; 4]);
}

/// A gradient the user set as a strided view accumulates through it, as in
/// PyTorch (`x.grad = m.t(); (x * x).sum().backward()` leaves m at
/// [[12, 26], [34, 48]]): it was replaced by a new tensor, and m kept its values.
#[test]
fn gradients_accumulate_through_a_strided_grad_the_user_set() {
    let x = Tensor::from_slice(&[1.0, 2.0, 3.0, 4.0], &[2, 2]).requires_grad_(true);
    let m = Tensor::from_slice(&[10.0, 20.0, 30.0, 40.0], &[2, 2]);
    x.set_grad(Some(m.t()));
    x.mul(&x).sum().backward().unwrap();
    assert_eq!(m.to_vec(), vec![12.0, 26.0, 34.0, 48.0]);
    assert_eq!(x.grad().unwrap().to_vec(), vec![12.0, 34.0, 26.0, 48.0]);
}

/// Sums start from +0.0, as PyTorch's: an empty sum, or one of -0.0s, is
/// +0.0 (Rust's float `Sum` starts from -0.0).
#[test]
fn empty_sums_are_positive_zero() {
    let positive = |t: Tensor| t.to_vec().iter().all(|v| *v == 0.0 && v.is_sign_positive());
    assert!(positive(Tensor::zeros(&[0]).sum()));
    assert!(positive(Tensor::zeros(&[0, 3]).sum_dim(0, false)));
    assert!(positive(Tensor::from_slice(&[-0.0], &[1]).sum()));
    assert!(positive(
        Tensor::from_slice(&[-0.0, -0.0], &[2, 1]).sum_dim(0, true)
    ));
}

/// A backward pass given a leaf's own grad as the output's gradient, through
/// an op that passes it on as it is (`add`), accumulates it into that same
/// grad: the sum is taken first, then written, as PyTorch does (x.grad
/// doubles). It used to wait forever for the grad's lock.
#[test]
fn a_gradient_sharing_the_leafs_grad_accumulates() {
    let x = Tensor::from_vec(vec![1.0, 2.0, 3.0], &[3]).requires_grad_(true);
    x.set_grad(Some(Tensor::from_vec(vec![0.5, 1.0, 2.0], &[3])));
    let y = x.add_scalar(1.0);
    y.backward_with(x.grad().unwrap()).unwrap();
    assert_eq!(x.grad().unwrap().to_vec(), vec![1.0, 2.0, 4.0]);
}
