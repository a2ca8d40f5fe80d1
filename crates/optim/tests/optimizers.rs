//! Optimizer behaviour beyond the reference trajectories: Adagrad by hand,
//! maximize, parameter groups, parameters without grads, zero_grad, and
//! PyTorch's argument errors.

use autograd::Tensor;
use optim::{
    Adagrad, AdagradConfig, Adam, AdamConfig, AdamW, AdamWConfig, OptimError, Optimizer,
    ParamGroup, RMSprop, RmspropConfig, SgdConfig, SGD,
};

/// sum(a·x² + b·x) with a = [0.5, 2], b = [1, -1].
fn objective(x: &Tensor) -> Tensor {
    let a = Tensor::from_vec(vec![0.5, 2.0], &[2]);
    let b = Tensor::from_vec(vec![1.0, -1.0], &[2]);
    a.mul(&x.mul(x)).add(&b.mul(x)).sum()
}

fn close(got: f32, want: f64) -> bool {
    (got as f64 - want).abs() <= 1e-6 * want.abs().max(1.0)
}

#[test]
fn adagrad_matches_a_hand_derivation() {
    // x0 = 1 with a = 0.5, b = 1: g = x + 1. Defaults: lr 0.1 here, eps 1e-10.
    let x = Tensor::from_vec(vec![1.0, 0.0], &[2]).requires_grad_(true);
    let mut opt = Adagrad::new(
        vec![x.clone()],
        AdagradConfig {
            lr: 0.1,
            ..Default::default()
        },
    )
    .unwrap();
    let mut got = Vec::new();
    for _ in 0..2 {
        opt.zero_grad();
        objective(&x).backward().unwrap();
        opt.step();
        got.push(x.to_vec()[0]);
    }
    // Step 1: g = 2, sum = 4, x = 1 - 0.1·2/2. Step 2: g = 1.9, sum = 4 + 1.9².
    let x1 = 1.0 - 0.1 * 2.0 / (2.0 + 1e-10);
    let x2 = x1 - 0.1 * 1.9 / ((4.0f64 + 1.9 * 1.9).sqrt() + 1e-10);
    assert!(
        close(got[0], x1) && close(got[1], x2),
        "{got:?} vs [{x1}, {x2}]"
    );

    // With lr_decay, weight decay and an initial accumulator.
    let x = Tensor::from_vec(vec![1.0, 0.0], &[2]).requires_grad_(true);
    let config = AdagradConfig {
        lr: 0.1,
        lr_decay: 0.5,
        weight_decay: 0.1,
        initial_accumulator_value: 0.5,
        ..Default::default()
    };
    let mut opt = Adagrad::new(vec![x.clone()], config).unwrap();
    let mut got = Vec::new();
    for _ in 0..2 {
        opt.zero_grad();
        objective(&x).backward().unwrap();
        opt.step();
        got.push(x.to_vec()[0]);
    }
    // g = x + 1 + 0.1·x; clr = 0.1 / (1 + (t - 1)·0.5).
    let g1: f64 = 2.1;
    let sum1 = 0.5 + g1 * g1;
    let x1 = 1.0 - 0.1 * g1 / (sum1.sqrt() + 1e-10);
    let g2 = 1.1 * x1 + 1.0;
    let x2 = x1 - 0.1 / 1.5 * g2 / ((sum1 + g2 * g2).sqrt() + 1e-10);
    assert!(
        close(got[0], x1) && close(got[1], x2),
        "{got:?} vs [{x1}, {x2}]"
    );
}

#[test]
fn rmsprop_momentum_or_centered_alone_match_hand_derivations() {
    // The reference covers plain and centered-with-momentum RMSprop; these are the
    // other two settings. x0 = 1 with a = 0.5, b = 1: g = x + 1; lr 0.01, alpha 0.9.
    let eps = 1e-8;
    for (momentum, centered) in [(0.5, false), (0.0, true)] {
        let x = Tensor::from_vec(vec![1.0, 0.0], &[2]).requires_grad_(true);
        let config = RmspropConfig {
            lr: 0.01,
            alpha: 0.9,
            momentum,
            centered,
            ..Default::default()
        };
        let mut opt = RMSprop::new(vec![x.clone()], config).unwrap();
        let (mut want_x, mut v, mut g_avg, mut buf) = (1.0f64, 0.0, 0.0, 0.0);
        for step in 1..=3 {
            opt.zero_grad();
            objective(&x).backward().unwrap();
            opt.step();
            let g = want_x + 1.0;
            v = 0.9 * v + 0.1 * g * g;
            g_avg = 0.9 * g_avg + 0.1 * g;
            let avg = if centered {
                (v - g_avg * g_avg).sqrt()
            } else {
                v.sqrt()
            } + eps;
            buf = momentum * buf + g / avg;
            want_x -= 0.01 * if momentum > 0.0 { buf } else { g / avg };
            let got = x.to_vec()[0];
            assert!(
                close(got, want_x),
                "momentum {momentum}, centered {centered}, step {step}: {got} vs {want_x}"
            );
        }
    }
}

/// Centered RMSprop divides by sqrt(v - ḡ²) + eps, which PyTorch computes with
/// one rounding (a fused multiply-add). Here ḡ = 1 + k·2⁻²³ and v is ḡ² rounded
/// up to f32, so the true difference is a few 1e-8 while rounding ḡ² first gives
/// 0, and the step was lr / eps = 1e6. With alpha = 1 a step keeps both averages,
/// so the step after loading them divides by exactly their difference. Values from
/// PyTorch 2.15: `tests/pytorch/rmsprop_centered_variance.py`.
#[test]
fn centered_rmsprop_rounds_the_variance_once() {
    let ulp = 2f64.powi(-23);
    let g_avg = [1.0 + 3664.0 * ulp, 1.0 + 3993.0 * ulp, 0.5].map(|x| x as f32);
    let v = [g_avg[0], g_avg[1]].map(|g| (f64::from(g) * f64::from(g)) as f32);
    let v = [v[0], v[1], 0.5];
    let x = Tensor::zeros(&[3]).requires_grad_(true);
    let config = RmspropConfig {
        lr: 0.01,
        alpha: 1.0,
        centered: true,
        ..Default::default()
    };
    let mut opt = RMSprop::new(vec![x.clone()], config).unwrap();
    x.set_grad(Some(Tensor::ones(&[3])));
    opt.step(); // makes the state
    let mut state = opt.state_dict();
    state.tensors.insert(
        "state.0.square_avg".into(),
        Tensor::from_vec(v.to_vec(), &[3]),
    );
    state.tensors.insert(
        "state.0.grad_avg".into(),
        Tensor::from_vec(g_avg.to_vec(), &[3]),
    );
    opt.load_state_dict(&state).unwrap();
    x.with_data_mut(|d| d.fill(0.0));
    opt.step();
    let want = [
        -45.813899993896484,
        -91.89332580566406,
        -0.019999999552965164,
    ];
    for (got, want) in x.to_vec().into_iter().zip(want) {
        assert!(close(got, want), "{:?} != {want:?}", x.to_vec());
    }
}

/// Builds an optimizer over the parameters, given `maximize`.
type Make = dyn Fn(Vec<Tensor>, bool) -> Box<dyn Optimizer>;

/// Runs 6 steps of `make(maximize)` on `sign · objective` and returns x.
fn run(make: &Make, maximize: bool) -> Vec<f32> {
    let x = Tensor::from_vec(vec![1.0, -2.0], &[2]).requires_grad_(true);
    let mut opt = make(vec![x.clone()], maximize);
    for _ in 0..6 {
        opt.zero_grad();
        let loss = objective(&x);
        let loss = if maximize { loss.neg() } else { loss };
        loss.backward().unwrap();
        opt.step();
    }
    x.to_vec()
}

#[test]
fn maximize_ascends_the_negated_objective_exactly() {
    let makers: Vec<Box<Make>> = vec![
        Box::new(|p, maximize| {
            let c = SgdConfig {
                lr: 0.1,
                momentum: 0.9,
                weight_decay: 0.1,
                nesterov: true,
                maximize,
                ..Default::default()
            };
            Box::new(SGD::new(p, c).unwrap())
        }),
        Box::new(|p, maximize| {
            let c = AdamConfig {
                lr: 0.1,
                weight_decay: 0.1,
                amsgrad: true,
                maximize,
                ..Default::default()
            };
            Box::new(Adam::new(p, c).unwrap())
        }),
        Box::new(|p, maximize| {
            Box::new(
                AdamW::new(
                    p,
                    AdamWConfig {
                        lr: 0.1,
                        maximize,
                        ..Default::default()
                    },
                )
                .unwrap(),
            )
        }),
        Box::new(|p, maximize| {
            let c = RmspropConfig {
                momentum: 0.5,
                centered: true,
                weight_decay: 0.1,
                maximize,
                ..Default::default()
            };
            Box::new(RMSprop::new(p, c).unwrap())
        }),
        Box::new(|p, maximize| {
            let c = AdagradConfig {
                weight_decay: 0.1,
                maximize,
                ..Default::default()
            };
            Box::new(Adagrad::new(p, c).unwrap())
        }),
    ];
    for make in &makers {
        let (minimized, maximized) = (run(make.as_ref(), false), run(make.as_ref(), true));
        assert_eq!(minimized, maximized);
        assert_ne!(minimized, vec![1.0, -2.0], "the parameters moved");
    }
}

#[test]
fn parameter_groups_use_their_own_lr_and_weight_decay() {
    let config = SgdConfig {
        lr: 0.1,
        momentum: 0.9,
        ..Default::default()
    };
    let make = || {
        (
            Tensor::from_vec(vec![1.0, -2.0], &[2]).requires_grad_(true),
            Tensor::from_vec(vec![0.5, 3.0], &[2]).requires_grad_(true),
        )
    };
    let (w, v) = make();
    let groups = vec![
        ParamGroup::new(vec![w.clone()]),
        ParamGroup::new(vec![v.clone()]).lr(0.5).weight_decay(0.2),
    ];
    let mut grouped = SGD::with_groups(groups, config.clone()).unwrap();
    let (w2, v2) = make();
    let mut alone_w = SGD::new(vec![w2.clone()], config.clone()).unwrap();
    let mut alone_v = SGD::new(
        vec![v2.clone()],
        SgdConfig {
            lr: 0.5,
            weight_decay: 0.2,
            ..config
        },
    )
    .unwrap();
    for _ in 0..5 {
        grouped.zero_grad();
        objective(&w).add(&objective(&v)).backward().unwrap();
        grouped.step();
        alone_w.zero_grad();
        alone_v.zero_grad();
        objective(&w2).add(&objective(&v2)).backward().unwrap();
        alone_w.step();
        alone_v.step();
    }
    assert_eq!((w.to_vec(), v.to_vec()), (w2.to_vec(), v2.to_vec()));
    assert_eq!((grouped.group_lr(0), grouped.group_lr(1)), (0.1, 0.5));
    grouped.set_lr(0.01);
    assert_eq!((grouped.lr(), grouped.group_lr(1)), (0.01, 0.01));
}

#[test]
fn parameters_without_grad_are_skipped_and_keep_their_own_step_count() {
    let p = Tensor::from_vec(vec![1.0, -2.0], &[2]).requires_grad_(true);
    let q = Tensor::from_vec(vec![0.5, 3.0], &[2]).requires_grad_(true);
    let config = AdamConfig {
        lr: 0.1,
        ..Default::default()
    };
    let mut opt = Adam::new(vec![p.clone(), q.clone()], config.clone()).unwrap();
    for _ in 0..2 {
        opt.zero_grad();
        objective(&p).backward().unwrap();
        opt.step();
    }
    assert_eq!(q.to_vec(), vec![0.5, 3.0], "q had no grad");
    let state = opt.state_dict();
    assert!(state.tensors.contains_key("state.0.exp_avg"));
    assert!(!state.tensors.keys().any(|k| k.starts_with("state.1.")));
    assert_eq!(state.scalars["state.0.step"], 2.0);

    // From now on q has grads: its bias corrections start at step 1.
    let q_alone = Tensor::from_vec(vec![0.5, 3.0], &[2]).requires_grad_(true);
    let mut alone = Adam::new(vec![q_alone.clone()], config).unwrap();
    for _ in 0..3 {
        opt.zero_grad();
        objective(&p).add(&objective(&q)).backward().unwrap();
        opt.step();
        alone.zero_grad();
        objective(&q_alone).backward().unwrap();
        alone.step();
    }
    assert_eq!(q.to_vec(), q_alone.to_vec());
    assert_eq!(opt.state_dict().scalars["state.1.step"], 3.0);
}

#[test]
fn zero_grad_sets_none_by_default_or_fills_zeros() {
    let x = Tensor::from_vec(vec![1.0, -2.0], &[2]).requires_grad_(true);
    let mut opt = SGD::new(vec![x.clone()], SgdConfig::default()).unwrap();
    objective(&x).backward().unwrap();
    let grad = x.grad().unwrap();
    opt.zero_grad_with(false);
    assert!(
        x.grad().unwrap().same(&grad),
        "the same tensor, zero-filled"
    );
    assert_eq!(grad.to_vec(), vec![0.0, 0.0]);
    opt.zero_grad();
    assert!(x.grad().is_none());
}

fn message<T>(result: Result<T, OptimError>) -> String {
    match result {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn invalid_arguments_give_pytorchs_errors() {
    let p = || vec![Tensor::zeros(&[2]).requires_grad_(true)];
    let sgd = |c: SgdConfig| message(SGD::new(p(), c));
    assert_eq!(
        sgd(SgdConfig {
            lr: -0.1,
            ..Default::default()
        }),
        "Invalid learning rate: -0.1"
    );
    assert_eq!(
        sgd(SgdConfig {
            lr: f64::NAN,
            ..Default::default()
        }),
        "Invalid learning rate: NaN"
    );
    assert_eq!(
        sgd(SgdConfig {
            momentum: -0.5,
            ..Default::default()
        }),
        "Invalid momentum value: -0.5"
    );
    assert_eq!(
        sgd(SgdConfig {
            weight_decay: -1.0,
            ..Default::default()
        }),
        "Invalid weight_decay value: -1"
    );
    let nesterov = "Nesterov momentum requires a momentum and zero dampening";
    assert_eq!(
        sgd(SgdConfig {
            nesterov: true,
            ..Default::default()
        }),
        nesterov
    );
    assert_eq!(
        sgd(SgdConfig {
            nesterov: true,
            momentum: 0.9,
            dampening: 0.1,
            ..Default::default()
        }),
        nesterov
    );

    let adam = |c: AdamConfig| message(Adam::new(p(), c));
    assert_eq!(
        adam(AdamConfig {
            betas: (1.0, 0.999),
            ..Default::default()
        }),
        "Invalid beta parameter at index 0: 1"
    );
    assert_eq!(
        adam(AdamConfig {
            betas: (0.9, -0.1),
            ..Default::default()
        }),
        "Invalid beta parameter at index 1: -0.1"
    );
    assert_eq!(
        adam(AdamConfig {
            eps: -1.0,
            ..Default::default()
        }),
        "Invalid epsilon value: -1"
    );
    let adamw = message(AdamW::new(
        p(),
        AdamWConfig {
            weight_decay: -0.01,
            ..Default::default()
        },
    ));
    assert_eq!(adamw, "Invalid weight_decay value: -0.01");

    let rmsprop = |c: RmspropConfig| message(RMSprop::new(p(), c));
    assert_eq!(
        rmsprop(RmspropConfig {
            alpha: -0.1,
            ..Default::default()
        }),
        "Invalid alpha value: -0.1"
    );
    assert_eq!(
        rmsprop(RmspropConfig {
            momentum: -0.1,
            ..Default::default()
        }),
        "Invalid momentum value: -0.1"
    );

    let adagrad = |c: AdagradConfig| message(Adagrad::new(p(), c));
    assert_eq!(
        adagrad(AdagradConfig {
            lr_decay: -1.0,
            ..Default::default()
        }),
        "Invalid lr_decay value: -1"
    );
    assert_eq!(
        adagrad(AdagradConfig {
            initial_accumulator_value: -1.0,
            ..Default::default()
        }),
        "Invalid initial_accumulator_value value: -1"
    );

    // A group's own values are checked too.
    let groups = vec![ParamGroup::new(p()).lr(-1.0)];
    assert_eq!(
        message(SGD::with_groups(groups, SgdConfig::default())),
        "Invalid learning rate: -1"
    );

    // The parameters themselves.
    assert_eq!(
        message(SGD::new(vec![], SgdConfig::default())),
        "optimizer got an empty parameter list"
    );
    let w = Tensor::zeros(&[2]).requires_grad_(true);
    assert!(
        message(SGD::new(vec![w.clone(), w.clone()], SgdConfig::default()))
            .contains("more than once")
    );
    let non_leaf = w.mul_scalar(2.0);
    assert!(message(SGD::new(vec![non_leaf], SgdConfig::default()))
        .starts_with("can't optimize a non-leaf Tensor"));
    let view = Tensor::zeros(&[2, 3]).t();
    assert!(message(SGD::new(vec![view], SgdConfig::default())).contains("non-contiguous"));
}

/// A grad that is the parameter's own storage (`p.grad = p.detach()` in
/// PyTorch) is read before each element is written, as in PyTorch: SGD with
/// lr 0.1 takes [1, 2, 3] to [0.9, 1.8, 2.7] (PyTorch 2.15 prints these), and
/// every optimizer ends where it would with the same values in a grad of its
/// own. (The update used to wait forever for the storage's lock.)
#[test]
fn a_grad_sharing_the_parameters_storage_is_read_first() {
    let p = Tensor::from_vec(vec![1.0, 2.0, 3.0], &[3]).requires_grad_(true);
    p.set_grad(Some(p.detach()));
    let config = SgdConfig {
        lr: 0.1,
        ..Default::default()
    };
    SGD::new(vec![p.clone()], config).unwrap().step();
    assert_eq!(p.to_vec(), vec![0.9, 1.8, 2.7]);

    type Make = fn(Vec<Tensor>) -> Box<dyn Optimizer>;
    let makes: [Make; 3] = [
        |p| Box::new(Adam::new(p, AdamConfig::default()).unwrap()),
        |p| Box::new(RMSprop::new(p, RmspropConfig::default()).unwrap()),
        |p| Box::new(Adagrad::new(p, AdagradConfig::default()).unwrap()),
    ];
    for make in makes {
        let values = vec![0.5, -1.5, 2.0, 4.0];
        let shared = Tensor::from_vec(values.clone(), &[4]).requires_grad_(true);
        let own = Tensor::from_vec(values.clone(), &[4]).requires_grad_(true);
        let (mut a, mut b) = (make(vec![shared.clone()]), make(vec![own.clone()]));
        for _ in 0..3 {
            shared.set_grad(Some(shared.detach()));
            own.set_grad(Some(Tensor::from_vec(own.to_vec(), &[4])));
            a.step();
            b.step();
        }
        assert_eq!(shared.to_vec(), own.to_vec());
    }
}
