//! Every public differentiable op against central finite differences,
//! including broadcasting, dims, keepdim and strided (transposed) inputs.

use autograd::gradcheck::gradcheck;
use autograd::{Generator, Tensor};

/// Values in [-2, 2) away from 0, so that kinks (relu) and ties (max) are not sampled.
fn t(shape: &[usize], seed: u64) -> Tensor {
    let mut g = Generator::new(seed);
    let n = shape.iter().product();
    let v = (0..n)
        .map(|_| {
            let x = g.uniform(0.2, 2.0);
            if g.uniform(0.0, 1.0) < 0.5 {
                -x
            } else {
                x
            }
        })
        .collect();
    Tensor::from_vec(v, shape)
}

fn positive(shape: &[usize], seed: u64) -> Tensor {
    Tensor::rand_uniform(shape, 0.5, 2.0, &mut Generator::new(seed))
}

fn check(name: &str, f: impl Fn(&[Tensor]) -> Tensor, inputs: Vec<Tensor>) {
    if let Err(e) = gradcheck(f, &inputs) {
        panic!("gradcheck of {name} failed: {e}");
    }
}

#[test]
fn binary_ops_with_broadcasting() {
    for (sa, sb) in [
        (vec![2, 3], vec![2, 3]),
        (vec![2, 3], vec![3]),
        (vec![2, 1], vec![1, 3]),
        (vec![4, 2, 3], vec![2, 1]),
        (vec![], vec![2, 2]),
    ] {
        let (a, b) = (t(&sa, 1), t(&sb, 2));
        check("add", |x| x[0].add(&x[1]), vec![a.clone(), b.clone()]);
        check("sub", |x| x[0].sub(&x[1]), vec![a.clone(), b.clone()]);
        check("mul", |x| x[0].mul(&x[1]), vec![a.clone(), b.clone()]);
        check(
            "div",
            |x| x[0].div(&x[1]),
            vec![a.clone(), positive(&sb, 3)],
        );
    }
}

#[test]
fn scalar_and_unary_ops() {
    let x = t(&[3, 4], 4);
    let p = positive(&[3, 4], 5);
    check("add_scalar", |x| x[0].add_scalar(1.5), vec![x.clone()]);
    check("sub_scalar", |x| x[0].sub_scalar(1.5), vec![x.clone()]);
    check("mul_scalar", |x| x[0].mul_scalar(-2.5), vec![x.clone()]);
    check("div_scalar", |x| x[0].div_scalar(4.0), vec![x.clone()]);
    check("neg", |x| x[0].neg(), vec![x.clone()]);
    check("relu", |x| x[0].relu(), vec![x.clone()]);
    check("sigmoid", |x| x[0].sigmoid(), vec![x.clone()]);
    check("tanh", |x| x[0].tanh(), vec![x.clone()]);
    check("exp", |x| x[0].exp(), vec![x.clone()]);
    check("log", |x| x[0].log(), vec![p.clone()]);
    check("sqrt", |x| x[0].sqrt(), vec![p.clone()]);
    check("pow 3", |x| x[0].pow(3.0), vec![x.clone()]);
    check("pow -0.5", |x| x[0].pow(-0.5), vec![p.clone()]);
    let mask = Tensor::from_vec(
        (0..12).map(|i| (i % 3 != 0) as u8 as f32 * 2.0).collect(),
        &[3, 4],
    );
    check("mul_mask", |x| x[0].mul_mask(&mask), vec![x.clone()]);
}

#[test]
fn reductions_over_all_and_along_dims() {
    let x = t(&[2, 3, 4], 6);
    check("sum", |x| x[0].sum(), vec![x.clone()]);
    check("mean", |x| x[0].mean(), vec![x.clone()]);
    for dim in [0isize, 1, 2, -1] {
        for keepdim in [false, true] {
            check("sum_dim", |x| x[0].sum_dim(dim, keepdim), vec![x.clone()]);
            check("mean_dim", |x| x[0].mean_dim(dim, keepdim), vec![x.clone()]);
            check("max_dim", |x| x[0].max_dim(dim, keepdim).0, vec![x.clone()]);
        }
    }
    check("sum_to", |x| x[0].sum_to(&[3, 1]), vec![x.clone()]);
    check(
        "broadcast_to",
        |x| x[0].broadcast_to(&[2, 3, 4]),
        vec![t(&[3, 1], 7)],
    );
}

#[test]
fn abs_clamp_max_and_min() {
    check("abs", |x| x[0].abs(), vec![t(&[3, 4], 70)]);
    // -2.05, -1.68, ..., 2.02 (steps of 0.37): at least 0.06 from every bound
    // below, so the finite differences (step 0.01) never cross a kink.
    let x = Tensor::from_vec((0..12).map(|i| -2.05 + 0.37 * i as f32).collect(), &[3, 4]);
    check(
        "clamp",
        |x| x[0].clamp(Some(-1.0), Some(1.0)),
        vec![x.clone()],
    );
    check(
        "clamp max only",
        |x| x[0].clamp(None, Some(0.3)),
        vec![x.clone()],
    );
    check(
        "clamp min > max",
        |x| x[0].clamp(Some(1.0), Some(-1.0)),
        vec![x.clone()],
    );
    check("clamp_min", |x| x[0].clamp_min(-0.5), vec![x.clone()]);
    check("clamp_max", |x| x[0].clamp_max(0.3), vec![x.clone()]);
    // Distinct values 0.3 apart, so the maximum and minimum do not change hands.
    let x = Tensor::from_vec(
        (0..12).map(|i| ((i * 7) % 12) as f32 * 0.3 - 1.6).collect(),
        &[3, 4],
    );
    check("max", |x| x[0].max(), vec![x.clone()]);
    check("min", |x| x[0].min(), vec![x.clone()]);
    check("max of a transpose", |x| x[0].t().max(), vec![x.clone()]);
    check("min of abs", |x| x[0].abs().min(), vec![x.clone()]);
}

#[test]
fn shape_ops() {
    let x = t(&[2, 3, 4], 8);
    check("reshape", |x| x[0].reshape(&[6, 4]), vec![x.clone()]);
    check("view", |x| x[0].view(&[4, 6]), vec![x.clone()]);
    check("flatten", |x| x[0].flatten(1), vec![x.clone()]);
    check("unsqueeze", |x| x[0].unsqueeze(1), vec![x.clone()]);
    check("squeeze", |x| x[0].unsqueeze(0).squeeze(0), vec![x.clone()]);
    check("transpose", |x| x[0].transpose(0, 2), vec![x.clone()]);
    check("permute", |x| x[0].permute(&[1, 2, 0]), vec![x.clone()]);
    check("t", |x| x[0].t(), vec![t(&[3, 5], 9)]);
    // A strided view feeding an elementwise op and a reshape.
    check(
        "permute then mul",
        |x| x[0].permute(&[2, 0, 1]).mul(&x[1]).reshape(&[24]),
        vec![x.clone(), t(&[4, 2, 3], 10)],
    );
}

#[test]
fn narrow_select_and_cat() {
    let x = t(&[2, 3, 4], 30);
    for (dim, start, length) in [(0isize, 1, 1), (1, 0, 2), (2, 1, 3), (-1, 2, 2), (-2, 1, 2)] {
        check(
            "narrow",
            |x| x[0].narrow(dim, start, length),
            vec![x.clone()],
        );
    }
    for (dim, index) in [(0isize, 1isize), (1, -1), (-1, 2), (-3, -2)] {
        check("select", |x| x[0].select(dim, index), vec![x.clone()]);
    }
    // Views of a transposed input, chained views, and one element used twice.
    check(
        "narrow of a transpose",
        |x| x[0].transpose(0, 2).narrow(1, 1, 2),
        vec![x.clone()],
    );
    check(
        "select of a transpose",
        |x| x[0].t().select(-1, 1),
        vec![t(&[3, 5], 31)],
    );
    check(
        "select of a narrow, twice",
        |x| {
            let n = x[0].narrow(-1, 1, 2);
            n.select(0, 0).add(&n.select(0, -1).mul(&n.select(0, 0)))
        },
        vec![x.clone()],
    );
    for dim in [0isize, 1, -1, -2] {
        check(
            "cat",
            |x| Tensor::cat(&[&x[0], &x[1]], dim),
            vec![t(&[2, 3], 32), t(&[2, 3], 33)],
        );
    }
    check(
        "cat with a transposed input and a repeated one",
        |x| Tensor::cat(&[&x[0], &x[1].t(), &x[0]], -1),
        vec![t(&[2, 3], 34), t(&[4, 2], 35)],
    );
    check(
        "cat of 3-d along the middle, strided inputs",
        |x| Tensor::cat(&[&x[0].transpose(1, 2), &x[1].narrow(1, 1, 1)], 1),
        vec![t(&[2, 4, 3], 36), t(&[2, 3, 4], 37)],
    );
}

#[test]
fn matmul_2d_batched_and_transposed() {
    check(
        "matmul 2d",
        |x| x[0].matmul(&x[1]),
        vec![t(&[3, 4], 11), t(&[4, 5], 12)],
    );
    check(
        "matmul batched",
        |x| x[0].matmul(&x[1]),
        vec![t(&[2, 3, 4], 13), t(&[2, 4, 2], 14)],
    );
    check(
        "matmul broadcast rhs",
        |x| x[0].matmul(&x[1]),
        vec![t(&[2, 3, 4], 15), t(&[4, 2], 16)],
    );
    check(
        "matmul of transposes",
        |x| x[0].t().matmul(&x[1].t()),
        vec![t(&[4, 3], 17), t(&[5, 4], 18)],
    );
}

#[test]
fn operators_with_the_scalar_on_either_side() {
    check("2 - x", |x| 2.0 - &x[0], vec![t(&[2, 3], 60)]);
    check("3 / x", |x| 3.0 / &x[0], vec![t(&[2, 3], 61)]);
    check(
        "x * y + 1",
        |x| &x[0] * &x[1] + 1.0,
        vec![t(&[2, 3], 62), t(&[3], 63)],
    );
    check(
        "-(x / 2) * 4",
        |x| 4.0 * -(&x[0] / 2.0),
        vec![t(&[2, 3], 64)],
    );
    // Exactly the scalar ops' values.
    let x = t(&[5], 65);
    assert_eq!((1.5 + &x).to_vec(), x.add_scalar(1.5).to_vec());
    assert_eq!((1.5 * &x).to_vec(), x.mul_scalar(1.5).to_vec());
    let sub: Vec<f32> = x.to_vec().iter().map(|v| 1.5 - v).collect();
    // `__rtruediv__`: the reciprocal, then the product (ops_edge_values.rs
    // has PyTorch's bits).
    let div: Vec<f32> = x.to_vec().iter().map(|v| (1.0 / v) * 1.5).collect();
    assert_eq!((1.5 - &x).to_vec(), sub);
    assert_eq!((1.5 / &x).to_vec(), div);
}

#[test]
fn matmul_with_vectors() {
    // Name, the operands' shapes and the result's (torch.matmul's).
    type Case<'a> = (&'a str, &'a [usize], &'a [usize], &'a [usize]);
    let cases: [Case; 5] = [
        ("vector @ matrix", &[4], &[4, 3], &[3]),
        ("matrix @ vector", &[3, 4], &[4], &[3]),
        ("vector @ vector", &[4], &[4], &[]),
        ("vector @ batch", &[4], &[2, 4, 3], &[2, 3]),
        ("batch @ vector", &[2, 3, 4], &[4], &[2, 3]),
    ];
    for (i, (name, a, b, out)) in cases.into_iter().enumerate() {
        let seed = 40 + 2 * i as u64;
        assert_eq!(t(a, seed).matmul(&t(b, seed + 1)).shape(), out, "{name}");
        check(
            name,
            |x| x[0].matmul(&x[1]),
            vec![t(a, seed), t(b, seed + 1)],
        );
    }
}

#[test]
fn linear_with_and_without_bias() {
    let (x, w, b) = (t(&[5, 4], 19), t(&[3, 4], 20), t(&[3], 21));
    check(
        "linear",
        |x| x[0].linear(&x[1], Some(&x[2])),
        vec![x.clone(), w.clone(), b],
    );
    check(
        "linear no bias",
        |x| x[0].linear(&x[1], None),
        vec![x.clone(), w.clone()],
    );
    check(
        "linear 3-d input",
        |x| x[0].linear(&x[1], None),
        vec![t(&[2, 5, 4], 22), w],
    );
}

#[test]
fn linear_relu_fused() {
    // |x . w| <= 16 for these values: a bias of +-20 keeps every output away
    // from ReLU's kink, with columns 0 and 2 active and column 1 not. Mixed
    // signs within a column are covered by `linear_relu_equals_linear_then_relu_bitwise`.
    let (x, w) = (t(&[5, 4], 24), t(&[3, 4], 25));
    let b = Tensor::from_vec(vec![20.0, -20.0, 20.0], &[3]);
    check(
        "linear_relu",
        |x| x[0].linear_relu(&x[1], Some(&x[2])),
        vec![x, w, b],
    );
}

#[test]
fn softmax_family_and_gather() {
    let x = t(&[3, 4], 23);
    for dim in [0isize, 1, -1] {
        check("log_softmax", |x| x[0].log_softmax(dim), vec![x.clone()]);
        check("softmax", |x| x[0].softmax(dim), vec![x.clone()]);
    }
    check(
        "log_softmax 3-d",
        |x| x[0].log_softmax(1),
        vec![t(&[2, 3, 4], 24)],
    );
    let index = Tensor::from_vec(vec![3.0, 0.0, 2.0], &[3, 1]);
    check("gather dim 1", |x| x[0].gather(1, &index), vec![x.clone()]);
    let index0 = Tensor::from_vec(vec![2.0, 0.0, 1.0, 1.0, 0.0, 0.0, 2.0, 2.0], &[2, 4]);
    check(
        "gather dim 0 repeated",
        |x| x[0].gather(0, &index0),
        vec![x.clone()],
    );
}

#[test]
fn a_chain_that_reuses_a_value() {
    // y = x*x + exp(x): two paths into x, summed by the tape.
    check(
        "reuse",
        |x| x[0].mul(&x[0]).add(&x[0].exp()).sum_dim(0, false),
        vec![t(&[3, 2], 25)],
    );
}

/// `sin` defined through `Tensor::from_op` with a given derivative rule.
fn sin_with_rule(x: &Tensor, rule: fn(f32) -> f32) -> Tensor {
    let values = x.to_vec().iter().map(|v| v.sin()).collect();
    let saved = x.clone();
    Tensor::from_op(values, x.shape(), "sin", &[x], move |g| {
        let d = Tensor::from_vec(
            saved.to_vec().iter().map(|&v| rule(v)).collect(),
            saved.shape(),
        );
        vec![Some(g.mul(&d))]
    })
}

/// The checker itself must reject a wrong rule: the right one passes, a sign
/// error, a factor-of-two error and a wrong function are all caught.
#[test]
fn gradcheck_rejects_a_wrong_backward_rule() {
    let x = t(&[6], 26);
    gradcheck(|x| sin_with_rule(&x[0], f32::cos), std::slice::from_ref(&x))
        .expect("the right rule passes");
    for (what, rule) in [
        ("sign", (|v: f32| -v.cos()) as fn(f32) -> f32),
        ("factor two", |v: f32| 2.0 * v.cos()),
        ("wrong function", f32::sin),
        ("slightly off", |v: f32| 1.05 * v.cos()),
    ] {
        let err = gradcheck(|x| sin_with_rule(&x[0], rule), std::slice::from_ref(&x))
            .expect_err(&format!("a {what} error must be caught"));
        assert!(err.contains("finite differences"), "{err}");
    }
}
