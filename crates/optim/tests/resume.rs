//! Exact resume: train k steps, save parameters + optimizer (+ scheduler)
//! state, load them into fresh objects, continue; the result must equal an
//! uninterrupted run bit for bit. The saved scalars go through text, as a
//! checkpoint file would hold them.

use std::collections::BTreeMap;

use autograd::Tensor;
use optim::{
    Adam, AdamConfig, AnnealStrategy, CosineAnnealingLR, LinearLR, LrScheduler, OneCycleConfig,
    OneCycleLR, Optimizer, OptimizerState, ParamGroup, RMSprop, RmspropConfig, SgdConfig, SGD,
};

const STEPS: usize = 12;
const SAVE_AT: usize = 5;

/// Two parameters, a [2, 3] matrix and a [3] vector, at fixed values.
fn fresh_params(values: Option<&[Vec<f32>]>) -> Vec<Tensor> {
    let defaults = [vec![0.5, -1.0, 2.0, 0.25, -0.75, 1.5], vec![1.0, -2.0, 0.5]];
    let values = values.unwrap_or(&defaults);
    vec![
        Tensor::from_vec(values[0].clone(), &[2, 3]).requires_grad_(true),
        Tensor::from_vec(values[1].clone(), &[3]).requires_grad_(true),
    ]
}

/// A small non-quadratic problem: sum((W·v)²) + sum(v⁴)/4 - sum(W).
fn train_step(opt: &mut dyn Optimizer, params: &[Tensor]) {
    let (w, v) = (&params[0], &params[1]);
    opt.zero_grad();
    let wv = w.matmul(&v.reshape(&[3, 1]));
    let loss = wv
        .mul(&wv)
        .sum()
        .add(&v.pow(4.0).sum().div_scalar(4.0))
        .sub(&w.sum());
    loss.backward().unwrap();
    opt.step();
}

/// Scalars through their text form and back, as a file would store them.
fn through_text(scalars: &BTreeMap<String, f64>) -> BTreeMap<String, f64> {
    scalars
        .iter()
        .map(|(k, v)| (k.clone(), format!("{v}").parse().unwrap()))
        .collect()
}

fn through_file(state: &OptimizerState) -> OptimizerState {
    OptimizerState {
        tensors: state
            .tensors
            .iter()
            .map(|(k, t)| (k.clone(), Tensor::from_vec(t.to_vec(), t.shape())))
            .collect(),
        scalars: through_text(&state.scalars),
    }
}

type Make = dyn Fn(Vec<Tensor>) -> Box<dyn Optimizer>;

fn check_resume(make: &Make, with_scheduler: bool) {
    let scheduler_for = |opt: &mut dyn Optimizer| CosineAnnealingLR::new(opt, 4, 0.001).unwrap();

    // Uninterrupted.
    let params = fresh_params(None);
    let mut opt = make(params.clone());
    let mut scheduler = scheduler_for(opt.as_mut());
    for _ in 0..STEPS {
        train_step(opt.as_mut(), &params);
        if with_scheduler {
            scheduler.step(opt.as_mut()).unwrap();
        }
    }
    let uninterrupted: Vec<Vec<f32>> = params.iter().map(|p| p.to_vec()).collect();

    // Interrupted after SAVE_AT steps.
    let params = fresh_params(None);
    let mut opt = make(params.clone());
    let mut scheduler = scheduler_for(opt.as_mut());
    for _ in 0..SAVE_AT {
        train_step(opt.as_mut(), &params);
        if with_scheduler {
            scheduler.step(opt.as_mut()).unwrap();
        }
    }
    let saved_params: Vec<Vec<f32>> = params.iter().map(|p| p.to_vec()).collect();
    let saved_optimizer = through_file(&opt.state_dict());
    let saved_scheduler = through_text(&scheduler.state_dict());
    drop((params, opt, scheduler));

    // Fresh objects, in PyTorch's order: optimizer, scheduler, then load both.
    let params = fresh_params(Some(&saved_params));
    let mut opt = make(params.clone());
    let mut scheduler = scheduler_for(opt.as_mut());
    opt.load_state_dict(&saved_optimizer).unwrap();
    scheduler.load_state_dict(&saved_scheduler).unwrap();
    for _ in SAVE_AT..STEPS {
        train_step(opt.as_mut(), &params);
        if with_scheduler {
            scheduler.step(opt.as_mut()).unwrap();
        }
    }
    let resumed: Vec<Vec<f32>> = params.iter().map(|p| p.to_vec()).collect();
    let bits = |v: &[Vec<f32>]| v.iter().flatten().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&resumed), bits(&uninterrupted));
}

#[test]
fn sgd_with_momentum_resumes_exactly() {
    let make = |p: Vec<Tensor>| -> Box<dyn Optimizer> {
        let config = SgdConfig {
            lr: 0.05,
            momentum: 0.9,
            dampening: 0.1,
            weight_decay: 1e-3,
            ..Default::default()
        };
        // Two groups, the second with its own lr.
        let groups = vec![
            ParamGroup::new(vec![p[0].clone()]),
            ParamGroup::new(vec![p[1].clone()]).lr(0.02),
        ];
        Box::new(SGD::with_groups(groups, config).unwrap())
    };
    check_resume(&make, false);
    check_resume(&make, true);
}

#[test]
fn adam_amsgrad_resumes_exactly() {
    let make = |p: Vec<Tensor>| -> Box<dyn Optimizer> {
        let config = AdamConfig {
            lr: 0.05,
            amsgrad: true,
            weight_decay: 1e-2,
            ..Default::default()
        };
        Box::new(Adam::new(p, config).unwrap())
    };
    check_resume(&make, false);
    check_resume(&make, true);
}

#[test]
fn rmsprop_centered_resumes_exactly() {
    let make = |p: Vec<Tensor>| -> Box<dyn Optimizer> {
        let config = RmspropConfig {
            lr: 0.01,
            momentum: 0.5,
            centered: true,
            ..Default::default()
        };
        Box::new(RMSprop::new(p, config).unwrap())
    };
    check_resume(&make, false);
    check_resume(&make, true);
}

#[test]
fn a_fresh_optimizer_without_the_state_diverges() {
    // The control for the tests above: skipping the load changes the result.
    let config = AdamConfig {
        lr: 0.05,
        ..Default::default()
    };
    let params = fresh_params(None);
    let mut opt = Adam::new(params.clone(), config.clone()).unwrap();
    for _ in 0..STEPS {
        train_step(&mut opt, &params);
    }
    let params2 = fresh_params(None);
    let mut opt2 = Adam::new(params2.clone(), config.clone()).unwrap();
    for _ in 0..SAVE_AT {
        train_step(&mut opt2, &params2);
    }
    let mut opt3 = Adam::new(params2.clone(), config).unwrap();
    for _ in SAVE_AT..STEPS {
        train_step(&mut opt3, &params2);
    }
    assert_ne!(params[0].to_vec(), params2[0].to_vec());
}

#[test]
fn state_dict_has_pytorchs_names() {
    let params = fresh_params(None);
    let config = RmspropConfig {
        momentum: 0.9,
        centered: true,
        ..Default::default()
    };
    let mut opt = RMSprop::new(params.clone(), config).unwrap();
    train_step(&mut opt, &params);
    let state = opt.state_dict();
    let tensors: Vec<&str> = state.tensors.keys().map(String::as_str).collect();
    assert_eq!(
        tensors,
        [
            "state.0.grad_avg",
            "state.0.momentum_buffer",
            "state.0.square_avg",
            "state.1.grad_avg",
            "state.1.momentum_buffer",
            "state.1.square_avg"
        ]
    );
    assert_eq!(state.tensors["state.0.square_avg"].shape(), &[2, 3]);
    assert_eq!(state.scalars["state.1.step"], 1.0);
    assert_eq!(state.scalars["param_groups.0.lr"], 1e-2);
    assert_eq!(state.scalars["param_groups.0.alpha"], 0.99);
    assert_eq!(state.scalars["param_groups.0.centered"], 1.0);
    assert_eq!(state.scalars["param_groups.0.num_params"], 2.0);
}

#[test]
fn loading_a_state_that_does_not_fit_is_an_error_and_changes_nothing() {
    let params = fresh_params(None);
    let mut adam = Adam::new(params.clone(), AdamConfig::default()).unwrap();
    train_step(&mut adam, &params);
    let good = adam.state_dict();
    let text = |e: optim::OptimError| e.to_string();

    // A state from SGD.
    let mut sgd = SGD::new(
        params.clone(),
        SgdConfig {
            momentum: 0.9,
            ..Default::default()
        },
    )
    .unwrap();
    train_step(&mut sgd, &params);
    let err = text(adam.load_state_dict(&sgd.state_dict()).unwrap_err());
    assert!(
        err.contains("Adam") && err.contains("missing key 'param_groups.0.beta1'"),
        "{err}"
    );

    // Another parameter layout.
    let mut other = Adam::new(vec![params[0].clone()], AdamConfig::default()).unwrap();
    let err = text(other.load_state_dict(&good).unwrap_err());
    assert!(
        err.contains("doesn't match the size of optimizer's group"),
        "{err}"
    );
    let grouped = vec![
        ParamGroup::new(vec![params[0].clone()]),
        ParamGroup::new(vec![params[1].clone()]),
    ];
    let mut other = Adam::with_groups(grouped, AdamConfig::default()).unwrap();
    let err = text(other.load_state_dict(&good).unwrap_err());
    assert!(
        err.contains("different number of parameter groups"),
        "{err}"
    );

    // A buffer of the wrong shape, an unknown key, an invalid hyperparameter.
    let mut bad = good.clone();
    bad.tensors
        .insert("state.1.exp_avg".into(), Tensor::zeros(&[4]));
    let err = text(adam.load_state_dict(&bad).unwrap_err());
    assert!(
        err.contains("'state.1.exp_avg' has shape [4] but parameter 1 has shape [3]"),
        "{err}"
    );
    let mut bad = good.clone();
    bad.tensors
        .insert("state.0.momentum_buffer".into(), Tensor::zeros(&[2, 3]));
    assert!(text(adam.load_state_dict(&bad).unwrap_err())
        .contains("unexpected tensor 'state.0.momentum_buffer'"));
    let mut bad = good.clone();
    bad.scalars.insert("state.2.step".into(), 1.0);
    assert!(text(adam.load_state_dict(&bad).unwrap_err()).contains("unexpected key 'state.2.step'"));
    let mut bad = good.clone();
    bad.scalars.insert("param_groups.0.beta2".into(), 1.5);
    assert!(text(adam.load_state_dict(&bad).unwrap_err())
        .contains("Invalid beta parameter at index 1: 1.5"));
    let mut bad = good.clone();
    bad.scalars.insert("state.0.step".into(), 0.5);
    assert!(text(adam.load_state_dict(&bad).unwrap_err()).contains("must be a step count"));

    // None of these changed the optimizer.
    let after = adam.state_dict();
    assert_eq!(after.scalars, good.scalars);
    for (key, tensor) in &good.tensors {
        assert_eq!(after.tensors[key].to_vec(), tensor.to_vec(), "{key}");
    }
}

/// LinearLR annealed from lr 0.1 to 0 in 10 steps ends a rounding below 0:
/// -2.96059473233375e-18 in PyTorch 2.15 too (lr 0.1, start_factor 1/3 to
/// end_factor 0). PyTorch saves and loads that state; building an optimizer
/// with a negative lr is still an error, and so is loading a NaN lr.
#[test]
fn a_state_whose_scheduler_left_the_lr_a_rounding_below_zero_loads() {
    let params = fresh_params(None);
    let config = || SgdConfig {
        lr: 0.1,
        ..Default::default()
    };
    let mut sgd = SGD::new(params.clone(), config()).unwrap();
    let mut scheduler = LinearLR::new(&mut sgd, 1.0 / 3.0, 0.0, 10).unwrap();
    for _ in 0..10 {
        train_step(&mut sgd, &params);
        scheduler.step(&mut sgd).unwrap();
    }
    assert_eq!(sgd.lr(), -2.96059473233375e-18);
    let saved = through_file(&sgd.state_dict());

    let mut fresh = SGD::new(params.clone(), config()).unwrap();
    fresh.load_state_dict(&saved).unwrap();
    assert_eq!(fresh.lr(), -2.96059473233375e-18);

    let mut nan = saved.clone();
    nan.scalars.insert("param_groups.0.lr".into(), f64::NAN);
    let err = fresh.load_state_dict(&nan).unwrap_err().to_string();
    assert!(err.contains("the learning rate is NaN"), "{err}");
}

/// OneCycleLR may leave the momentum (or beta1) outside the range an optimizer
/// is built with, and PyTorch saves and loads such a state: its linear anneal
/// extrapolates on the last step (step_num == total_steps) to a negative lr
/// and a beta1 of 1.04, and a `base_momentum` of 0 leaves a Nesterov SGD with
/// momentum 0 at the peak. Loading either was refused ("Invalid beta
/// parameter", "Nesterov momentum requires a momentum"). Values from PyTorch
/// 2.15: `tests/pytorch/onecycle_resume.py`.
#[test]
fn a_state_whose_one_cycle_left_the_momentum_out_of_range_loads() {
    // g = 2·w·(p - 1), w = [1, 2, 3], as the script computes it in f32.
    let set_grad = |p: &Tensor| {
        let g: Vec<f32> = p
            .to_vec()
            .iter()
            .zip([1.0f32, 2.0, 3.0])
            .map(|(&p, w)| 2.0 * w * (p - 1.0))
            .collect();
        p.set_grad(Some(Tensor::from_vec(g, &[3])));
    };
    let run = |make: &dyn Fn(Vec<Tensor>) -> Box<dyn Optimizer>,
               one_cycle: &dyn Fn(&mut dyn Optimizer) -> OneCycleLR,
               steps: usize| {
        let p = Tensor::from_vec(vec![0.5, -1.0, 2.0], &[3]).requires_grad_(true);
        let mut opt = make(vec![p.clone()]);
        let mut scheduler = one_cycle(opt.as_mut());
        for _ in 0..steps {
            set_grad(&p);
            opt.step();
            scheduler.step(opt.as_mut()).unwrap();
        }
        let saved = through_file(&opt.state_dict());
        let fresh_p = Tensor::from_vec(p.to_vec(), &[3]).requires_grad_(true);
        let mut fresh = make(vec![fresh_p.clone()]);
        fresh.load_state_dict(&saved).unwrap();
        let loaded = (fresh.lr(), fresh.group_momentum(0).unwrap());
        set_grad(&fresh_p);
        fresh.step();
        (loaded, fresh_p.to_vec())
    };

    let adam = |params| {
        let config = AdamConfig {
            lr: 0.01,
            ..Default::default()
        };
        Box::new(Adam::new(params, config).unwrap()) as Box<dyn Optimizer>
    };
    let linear = |opt: &mut dyn Optimizer| {
        let config = OneCycleConfig {
            anneal_strategy: AnnealStrategy::Linear,
            max_momentum: 0.99,
            ..Default::default()
        };
        OneCycleLR::new(opt, 0.1, 4, config).unwrap()
    };
    let ((lr, beta1), params) = run(&adam, &linear, 4);
    assert!((lr - -0.03571374285714288).abs() < 1e-15, "{lr}");
    assert!((beta1 - 1.04).abs() < 1e-12, "{beta1}");
    let want: [f64; 3] = [0.6068986058235168, -0.8942811489105225, 1.893892526626587];
    for (&got, want) in params.iter().zip(want) {
        assert!((f64::from(got) - want).abs() < 1e-6, "{params:?} != {want}");
    }

    let nesterov = |params| {
        let config = SgdConfig {
            lr: 0.1,
            momentum: 0.9,
            nesterov: true,
            ..Default::default()
        };
        Box::new(SGD::new(params, config).unwrap()) as Box<dyn Optimizer>
    };
    let no_base_momentum = |opt: &mut dyn Optimizer| {
        let config = OneCycleConfig {
            base_momentum: 0.0,
            ..Default::default()
        };
        OneCycleLR::new(opt, 0.5, 10, config).unwrap()
    };
    let ((lr, momentum), params) = run(&nesterov, &no_base_momentum, 2);
    assert_eq!((lr, momentum), (0.5, 0.0));
    let want: [f64; 3] = [1.0, -0.37069201469421387, 3.6970818042755127];
    for (&got, want) in params.iter().zip(want) {
        assert!((f64::from(got) - want).abs() < 1e-6, "{params:?} != {want}");
    }

    // A NaN momentum is still refused.
    let mut saved = nesterov(vec![Tensor::zeros(&[3])]).state_dict();
    saved
        .scalars
        .insert("param_groups.0.momentum".into(), f64::NAN);
    let err = nesterov(vec![Tensor::zeros(&[3])])
        .load_state_dict(&saved)
        .unwrap_err()
        .to_string();
    assert!(err.contains("momentum is NaN"), "{err}");
}
