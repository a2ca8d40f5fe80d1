//! LR schedulers against sequences derived here from PyTorch's documented
//! closed forms (in f64), plus hand-written values.

use std::f64::consts::PI;

use autograd::Tensor;
use optim::{
    Adagrad, AdagradConfig, Adam, AdamConfig, AnnealStrategy, CosineAnnealingLR, ExponentialLR,
    LinearLR, LrScheduler, MultiStepLR, OneCycleConfig, OneCycleLR, Optimizer, ParamGroup,
    PlateauConfig, PlateauMode, ReduceLROnPlateau, SgdConfig, StepLR, ThresholdMode, SGD,
};

fn sgd(lr: f64) -> SGD {
    SGD::new(
        vec![Tensor::zeros(&[1]).requires_grad_(true)],
        SgdConfig {
            lr,
            ..Default::default()
        },
    )
    .unwrap()
}

/// The lr after construction, then after each of `epochs` steps.
fn lrs(opt: &mut dyn Optimizer, scheduler: &mut dyn LrScheduler, epochs: usize) -> Vec<f64> {
    let mut out = vec![opt.lr()];
    assert_eq!(scheduler.get_last_lr(), vec![opt.lr()]);
    for _ in 0..epochs {
        opt.step();
        scheduler.step(opt).unwrap();
        assert_eq!(scheduler.get_last_lr()[0], opt.lr());
        out.push(opt.lr());
    }
    out
}

fn assert_close(got: &[f64], want: &[f64], rel: f64, abs: f64) {
    assert_eq!(got.len(), want.len());
    for (e, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= rel * w.abs() + abs,
            "epoch {e}: got {g}, want {w}\n got {got:?}\nwant {want:?}"
        );
    }
}

#[test]
fn step_lr() {
    let mut opt = sgd(0.5);
    let mut s = StepLR::new(&mut opt, 3, 0.1).unwrap();
    let got = lrs(&mut opt, &mut s, 12);
    let want: Vec<f64> = (0..=12).map(|e| 0.5 * 0.1f64.powi(e / 3)).collect();
    assert_close(&got, &want, 1e-12, 0.0);
    assert_eq!(&got[..5], &[0.5, 0.5, 0.5, 0.05, 0.05]);
}

#[test]
fn multi_step_lr() {
    let mut opt = sgd(0.05);
    let mut s = MultiStepLR::new(&mut opt, &[30, 80], 0.1).unwrap();
    let got = lrs(&mut opt, &mut s, 100);
    // PyTorch's doc: 0.05 before epoch 30, 0.005 until 80, 0.0005 after.
    assert_close(
        &[got[29], got[30], got[79], got[80], got[100]],
        &[0.05, 0.005, 0.005, 0.0005, 0.0005],
        1e-12,
        0.0,
    );

    // A repeated milestone counts twice: base · gamma^(milestones ≤ epoch).
    let milestones = [2, 5, 5, 9];
    let mut opt = sgd(1.0);
    let mut s = MultiStepLR::new(&mut opt, &milestones, 0.5).unwrap();
    let got = lrs(&mut opt, &mut s, 12);
    let want: Vec<f64> = (0..=12)
        .map(|e| 0.5f64.powi(milestones.iter().filter(|&&m| m <= e).count() as i32))
        .collect();
    assert_close(&got, &want, 1e-12, 0.0);
}

#[test]
fn exponential_lr() {
    let mut opt = sgd(0.1);
    let mut s = ExponentialLR::new(&mut opt, 0.9).unwrap();
    let got = lrs(&mut opt, &mut s, 20);
    let want: Vec<f64> = (0..=20).map(|e| 0.1 * 0.9f64.powi(e)).collect();
    assert_close(&got, &want, 1e-12, 0.0);
}

#[test]
fn cosine_annealing_lr_follows_the_closed_form_through_and_past_t_max() {
    let (base, eta_min, t_max) = (0.1, 0.001, 10.0);
    let mut opt = sgd(base);
    let mut s = CosineAnnealingLR::new(&mut opt, 10, eta_min).unwrap();
    let got = lrs(&mut opt, &mut s, 35);
    let want: Vec<f64> = (0..=35)
        .map(|e| eta_min + (base - eta_min) * (1.0 + (PI * e as f64 / t_max).cos()) / 2.0)
        .collect();
    assert_close(&got, &want, 1e-9, 1e-15);

    // By hand: T_max = 2 from 1 to 0 and back.
    let mut opt = sgd(1.0);
    let mut s = CosineAnnealingLR::new(&mut opt, 2, 0.0).unwrap();
    assert_close(
        &lrs(&mut opt, &mut s, 4),
        &[1.0, 0.5, 0.0, 0.5, 1.0],
        1e-12,
        1e-15,
    );
}

#[test]
fn linear_lr_warm_up_and_decay() {
    let base = 0.1;
    for (start, end, total) in [(0.25, 1.0, 4usize), (1.0, 0.1, 3), (1.0 / 3.0, 1.0, 5)] {
        let mut opt = sgd(base);
        let mut s = LinearLR::new(&mut opt, start, end, total).unwrap();
        let got = lrs(&mut opt, &mut s, 10);
        let want: Vec<f64> = (0..=10)
            .map(|e: usize| base * (start + (end - start) * e.min(total) as f64 / total as f64))
            .collect();
        assert_close(&got, &want, 1e-12, 0.0);
    }
    let mut opt = sgd(0.1);
    let mut s = LinearLR::new(&mut opt, 0.5, 1.0, 4).unwrap();
    assert_close(
        &lrs(&mut opt, &mut s, 5),
        &[0.05, 0.0625, 0.075, 0.0875, 0.1, 0.1],
        1e-12,
        0.0,
    );
    let err = LinearLR::new(&mut opt, 0.0, 1.0, 4)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("Starting multiplicative factor expected to be greater than 0"),
        "{err}"
    );
    let err = LinearLR::new(&mut opt, 0.5, 1.5, 4)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("Ending multiplicative factor expected to be between 0 and 1"),
        "{err}"
    );
}

#[test]
fn schedulers_scale_every_group_from_its_own_lr() {
    let groups = vec![
        ParamGroup::new(vec![Tensor::zeros(&[1])]),
        ParamGroup::new(vec![Tensor::zeros(&[1])]).lr(1.0),
    ];
    let mut opt = SGD::with_groups(
        groups,
        SgdConfig {
            lr: 0.1,
            ..Default::default()
        },
    )
    .unwrap();
    let mut s = StepLR::new(&mut opt, 1, 0.5).unwrap();
    s.step(&mut opt).unwrap();
    s.step(&mut opt).unwrap();
    assert_eq!(s.get_last_lr(), vec![0.025, 0.25]);
}

/// The 1cycle lr and momentum at `step`, from PyTorch's description: cosine
/// from max_lr/div up to max_lr over pct·total - 1 steps, then down to
/// max_lr/div/final_div at step total - 1; momentum the other way, 0.95 ↔ 0.85.
fn one_cycle(step: f64, max_lr: f64, total: f64, pct: f64) -> (f64, f64) {
    let cos = |from: f64, to: f64, p: f64| to + (from - to) * (1.0 + (PI * p).cos()) / 2.0;
    let (initial, up_end) = (max_lr / 25.0, pct * total - 1.0);
    let min = initial / 1e4;
    if step <= up_end {
        let p = step / up_end;
        (cos(initial, max_lr, p), cos(0.95, 0.85, p))
    } else {
        let p = (step - up_end) / (total - 1.0 - up_end);
        (cos(max_lr, min, p), cos(0.85, 0.95, p))
    }
}

#[test]
fn one_cycle_lr_and_momentum() {
    let params = vec![Tensor::zeros(&[1])];
    let mut opt = SGD::new(
        params,
        SgdConfig {
            lr: 0.1,
            ..Default::default()
        },
    )
    .unwrap();
    let mut s = OneCycleLR::new(&mut opt, 1.0, 100, OneCycleConfig::default()).unwrap();
    assert!(s.per_batch());
    for step in 0..=100 {
        if step > 0 {
            s.step(&mut opt).unwrap();
        }
        let (lr, momentum) = one_cycle(step as f64, 1.0, 100.0, 0.3);
        assert_close(
            &[opt.lr(), opt.group_momentum(0).unwrap()],
            &[lr, momentum],
            1e-12,
            1e-15,
        );
    }
    let err = s.step(&mut opt).unwrap_err().to_string();
    assert_eq!(
        err,
        "Tried to step 101 times. The specified number of total steps is 100"
    );

    // By hand, total 10: up until step 2, down to 1/25/1e4 at step 9.
    let mut opt = SGD::new(vec![Tensor::zeros(&[1])], SgdConfig::default()).unwrap();
    let mut s = OneCycleLR::new(&mut opt, 1.0, 10, OneCycleConfig::default()).unwrap();
    let mut seen = vec![(opt.lr(), opt.group_momentum(0).unwrap())];
    for _ in 0..9 {
        s.step(&mut opt).unwrap();
        seen.push((opt.lr(), opt.group_momentum(0).unwrap()));
    }
    assert_close(
        &[seen[0].0, seen[2].0, seen[9].0],
        &[0.04, 1.0, 4e-6],
        1e-12,
        0.0,
    );
    assert_close(
        &[seen[0].1, seen[2].1, seen[9].1],
        &[0.95, 0.85, 0.95],
        1e-12,
        0.0,
    );
    assert_close(&[seen[1].0], &[0.52], 1e-12, 0.0); // halfway up: (0.04 + 1) / 2

    // Linear, three phases: up to step 2, back to 0.04 at step 4, then to 4e-6 at 9.
    let config = OneCycleConfig {
        anneal_strategy: AnnealStrategy::Linear,
        three_phase: true,
        ..Default::default()
    };
    let mut opt = SGD::new(vec![Tensor::zeros(&[1])], SgdConfig::default()).unwrap();
    let mut s = OneCycleLR::new(&mut opt, 1.0, 10, config).unwrap();
    let got = lrs(&mut opt, &mut s, 9);
    let want = [
        0.04,
        0.52,
        1.0,
        0.52,
        0.04,
        0.04 - 0.2 * (0.04 - 4e-6),
        0.04 - 0.4 * (0.04 - 4e-6),
    ];
    assert_close(&got[..7], &want, 1e-12, 1e-15);
    assert_close(&[got[9]], &[4e-6], 1e-12, 0.0);
}

#[test]
fn one_cycle_cycles_adams_beta1_and_rejects_adagrad() {
    let mut adam = Adam::new(vec![Tensor::zeros(&[1])], AdamConfig::default()).unwrap();
    let mut s = OneCycleLR::new(&mut adam, 0.01, 10, OneCycleConfig::default()).unwrap();
    assert_eq!(adam.config(0).betas, (0.95, 0.999));
    s.step(&mut adam).unwrap();
    s.step(&mut adam).unwrap();
    assert!((adam.config(0).betas.0 - 0.85).abs() < 1e-12);

    let mut adagrad = Adagrad::new(vec![Tensor::zeros(&[1])], AdagradConfig::default()).unwrap();
    let err = OneCycleLR::new(&mut adagrad, 0.01, 10, OneCycleConfig::default())
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "optimizer must support momentum or beta1 with `cycle_momentum` option enabled"
    );
    let config = OneCycleConfig {
        cycle_momentum: false,
        ..Default::default()
    };
    assert!(OneCycleLR::new(&mut adagrad, 0.01, 10, config).is_ok());

    let err = OneCycleLR::new(&mut adam, 0.01, 0, OneCycleConfig::default())
        .unwrap_err()
        .to_string();
    assert_eq!(err, "Expected positive integer total_steps, but got 0");
    let config = OneCycleConfig {
        pct_start: 1.5,
        ..Default::default()
    };
    let err = OneCycleLR::new(&mut adam, 0.01, 10, config)
        .unwrap_err()
        .to_string();
    assert_eq!(err, "Expected float between 0 and 1 pct_start, but got 1.5");
}

#[test]
fn reduce_lr_on_plateau_by_hand() {
    let mut opt = sgd(1.0);
    let config = PlateauConfig {
        factor: 0.5,
        patience: 2,
        cooldown: 1,
        min_lr: 0.3,
        ..Default::default()
    };
    let mut s = ReduceLROnPlateau::new(&opt, config).unwrap();
    // 8.9995 is not better than 9 by the relative threshold 1e-4 (needs < 8.9991).
    let metrics = [
        10.0, 9.0, 9.0, 8.9995, 9.0, 9.0, 9.0, 9.0, 9.0, 9.0, 9.0, 9.0, 9.0,
    ];
    let mut got = Vec::new();
    for m in metrics {
        s.step_with_metric(&mut opt, m).unwrap();
        got.push(opt.lr());
    }
    // Cut after 3 bad epochs; the epoch after a cut is cooldown; min_lr stops the third cut.
    let want = [
        1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.3, 0.3, 0.3, 0.3, 0.3,
    ];
    assert_eq!(got, want);
    assert_eq!(s.get_last_lr(), vec![0.3]);

    // Max mode with an absolute threshold: 1.05 does not beat 1.0 + 0.1.
    let mut opt = sgd(1.0);
    let config = PlateauConfig {
        mode: PlateauMode::Max,
        threshold_mode: ThresholdMode::Abs,
        threshold: 0.1,
        patience: 0,
        ..Default::default()
    };
    let mut s = ReduceLROnPlateau::new(&opt, config).unwrap();
    let mut got = Vec::new();
    for m in [1.0, 1.05, 1.2, 1.25] {
        s.step_with_metric(&mut opt, m).unwrap();
        got.push(opt.lr());
    }
    assert_close(&got, &[1.0, 0.1, 0.1, 0.01], 1e-12, 0.0);

    let err = s.step(&mut opt).unwrap_err().to_string();
    assert!(err.contains("step_with_metric"), "{err}");
    let config = PlateauConfig {
        factor: 1.0,
        ..Default::default()
    };
    assert!(ReduceLROnPlateau::new(&opt, config)
        .unwrap_err()
        .to_string()
        .starts_with("Factor should be < 1.0"));
}

#[test]
fn scheduler_state_round_trips_and_rejects_other_schedulers() {
    let mut opt = sgd(0.1);
    let mut s = CosineAnnealingLR::new(&mut opt, 10, 0.0).unwrap();
    for _ in 0..4 {
        s.step(&mut opt).unwrap();
    }
    let state = s.state_dict();
    assert_eq!(state["last_epoch"], 4.0);
    assert_eq!(state["base_lrs.0"], 0.1);

    let mut opt2 = sgd(0.1);
    let mut s2 = CosineAnnealingLR::new(&mut opt2, 7, 0.5).unwrap();
    s2.load_state_dict(&state).unwrap();
    opt2.set_lr(opt.lr()); // the optimizer's own state carries its lr
    for _ in 0..3 {
        s.step(&mut opt).unwrap();
        s2.step(&mut opt2).unwrap();
        assert_eq!(opt.lr(), opt2.lr());
    }

    let mut exp = ExponentialLR::new(&mut opt2, 0.9).unwrap();
    let err = exp.load_state_dict(&state).unwrap_err().to_string();
    assert!(
        err.contains("ExponentialLR") && err.contains("missing key 'gamma'"),
        "{err}"
    );
    let mut step = StepLR::new(&mut opt2, 2, 0.9).unwrap();
    let mut with_extra = step.state_dict();
    with_extra.insert("T_max".into(), 3.0);
    let err = step.load_state_dict(&with_extra).unwrap_err().to_string();
    assert!(err.contains("unexpected key 'T_max'"), "{err}");

    let mut plateau = ReduceLROnPlateau::new(&opt, PlateauConfig::default()).unwrap();
    plateau.step_with_metric(&mut opt, 1.0).unwrap();
    let saved = plateau.state_dict();
    let mut fresh = ReduceLROnPlateau::new(&opt, PlateauConfig::default()).unwrap();
    fresh.load_state_dict(&saved).unwrap();
    assert_eq!(fresh.state_dict(), saved);
}

/// Schedulers built one after another on an optimizer take their base lr from
/// the group's `initial_lr`, which the first sets (OneCycleLR always), not from
/// the lr the earlier ones already changed. Values computed by PyTorch 2.15:
/// `tests/pytorch/chained_schedulers.py`.
#[test]
fn chained_schedulers_take_their_base_lr_from_initial_lr() {
    let run = |build: &dyn Fn(&mut SGD) -> Vec<Box<dyn LrScheduler>>, epochs: usize| {
        let mut opt = sgd(0.1);
        let mut schedulers = build(&mut opt);
        let mut out = vec![opt.lr()];
        for _ in 0..epochs {
            opt.step();
            for s in &mut schedulers {
                s.step(&mut opt).unwrap();
            }
            out.push(opt.lr());
        }
        out
    };
    let got = run(
        &|o| {
            vec![
                Box::new(LinearLR::new(o, 0.5, 1.0, 2).unwrap()),
                Box::new(CosineAnnealingLR::new(o, 2, 0.0).unwrap()),
            ]
        },
        6,
    );
    let want = [0.05, 0.0375, 0.0, 0.05, 0.1, 0.05, 0.0];
    assert_close(&got, &want, 1e-12, 1e-15);

    let got = run(
        &|o| {
            vec![
                Box::new(MultiStepLR::new(o, &[0, 3], 0.5).unwrap()),
                Box::new(CosineAnnealingLR::new(o, 3, 0.0).unwrap()),
            ]
        },
        7,
    );
    let want = [0.05, 0.0375, 0.0125, 0.0, 0.025, 0.075, 0.1, 0.075];
    assert_close(&got, &want, 1e-12, 1e-15);

    let got = run(
        &|o| {
            vec![
                Box::new(OneCycleLR::new(o, 1.0, 10, OneCycleConfig::default()).unwrap()),
                Box::new(StepLR::new(o, 2, 0.5).unwrap()),
            ]
        },
        6,
    );
    let want = [
        0.04,
        0.52,
        0.5,
        0.9504846320134737,
        0.40587282697488153,
        0.6112620219362893,
        0.19437098903185537,
    ];
    assert_close(&got, &want, 1e-12, 1e-15);
}
