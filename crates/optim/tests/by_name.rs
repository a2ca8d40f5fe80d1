//! Optimizers and schedulers chosen by name, as the CLI does.

use autograd::Tensor;
use optim::{build, build_scheduler, OptimOptions, Optimizer};

fn params() -> Vec<Tensor> {
    vec![Tensor::from_vec(vec![1.0, -1.0], &[2]).requires_grad_(true)]
}

fn hyper(opt: &dyn Optimizer, name: &str) -> f64 {
    opt.state_dict().scalars[&format!("param_groups.0.{name}")]
}

#[test]
fn every_optimizer_by_name_with_pytorchs_defaults() {
    let none = OptimOptions::default();
    let sgd = build("sgd", params(), &none).unwrap();
    assert_eq!((sgd.lr(), hyper(sgd.as_ref(), "momentum")), (1e-3, 0.0));
    let adam = build("Adam", params(), &none).unwrap();
    assert_eq!(
        (
            adam.lr(),
            hyper(adam.as_ref(), "beta2"),
            hyper(adam.as_ref(), "weight_decay")
        ),
        (1e-3, 0.999, 0.0)
    );
    let adamw = build("adamw", params(), &none).unwrap();
    assert_eq!(hyper(adamw.as_ref(), "weight_decay"), 1e-2);
    let rmsprop = build("rmsprop", params(), &none).unwrap();
    assert_eq!(
        (rmsprop.lr(), hyper(rmsprop.as_ref(), "alpha")),
        (1e-2, 0.99)
    );
    let adagrad = build("adagrad", params(), &none).unwrap();
    assert_eq!(
        (adagrad.lr(), hyper(adagrad.as_ref(), "eps")),
        (1e-2, 1e-10)
    );

    let options = OptimOptions {
        lr: Some(0.5),
        momentum: 0.9,
        weight_decay: Some(0.1),
        nesterov: true,
    };
    let sgd = build("sgd", params(), &options).unwrap();
    let values: Vec<f64> = ["lr", "momentum", "weight_decay", "nesterov"]
        .iter()
        .map(|n| hyper(sgd.as_ref(), n))
        .collect();
    assert_eq!(values, vec![0.5, 0.9, 0.1, 1.0]);
    let rmsprop = build(
        "rmsprop",
        params(),
        &OptimOptions {
            momentum: 0.9,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(hyper(rmsprop.as_ref(), "momentum"), 0.9);
}

#[test]
fn optimizer_name_errors() {
    let err = |name: &str, options: OptimOptions| {
        build(name, params(), &options).err().unwrap().to_string()
    };
    assert!(err("lbfgs", OptimOptions::default()).contains("unknown optimizer 'lbfgs'"));
    assert!(err(
        "adam",
        OptimOptions {
            momentum: 0.9,
            ..Default::default()
        }
    )
    .contains("momentum does not apply to adam"));
    assert!(err(
        "rmsprop",
        OptimOptions {
            nesterov: true,
            momentum: 0.9,
            ..Default::default()
        }
    )
    .contains("nesterov does not apply to rmsprop"));
    assert_eq!(
        err(
            "sgd",
            OptimOptions {
                nesterov: true,
                ..Default::default()
            }
        ),
        "Nesterov momentum requires a momentum and zero dampening"
    );
    assert_eq!(
        err(
            "adamw",
            OptimOptions {
                lr: Some(-1.0),
                ..Default::default()
            }
        ),
        "Invalid learning rate: -1"
    );
}

/// Build `spec` over SGD(lr 1), then step it `epochs` times; the lrs seen.
fn run(spec: &str, epochs: usize, steps_per_epoch: usize) -> Vec<f64> {
    let mut opt = build(
        "sgd",
        params(),
        &OptimOptions {
            lr: Some(1.0),
            ..Default::default()
        },
    )
    .unwrap();
    let mut scheduler = build_scheduler(spec, opt.as_mut(), epochs, steps_per_epoch).unwrap();
    let mut lrs = vec![opt.lr()];
    for _ in 0..epochs {
        if scheduler.per_batch() {
            for _ in 0..steps_per_epoch {
                scheduler.step(opt.as_mut()).unwrap();
            }
        } else {
            scheduler.step_with_metric(opt.as_mut(), 1.0).unwrap();
        }
        lrs.push(opt.lr());
    }
    lrs
}

#[test]
fn every_scheduler_by_spec() {
    assert_eq!(run("step:2", 4, 1), vec![1.0, 1.0, 0.1, 0.1, 0.1 * 0.1]);
    assert_eq!(run("step:2:0.5", 4, 1), vec![1.0, 1.0, 0.5, 0.5, 0.25]);
    assert_eq!(
        run("multistep:1,3:0.5", 4, 1),
        vec![1.0, 0.5, 0.5, 0.25, 0.25]
    );
    assert_eq!(run("exponential:0.5", 2, 1), vec![1.0, 0.5, 0.25]);
    let cosine = run("cosine", 2, 1); // T_max = epochs
    assert!(
        (cosine[1] - 0.5).abs() < 1e-12 && cosine[2].abs() < 1e-12,
        "{cosine:?}"
    );
    let cosine = run("cosine:4:0.5", 4, 1);
    assert!(
        (cosine[2] - 0.75).abs() < 1e-12 && (cosine[4] - 0.5).abs() < 1e-12,
        "{cosine:?}"
    );
    let linear = run("linear", 5, 1);
    assert!(
        (linear[0] - 1.0 / 3.0).abs() < 1e-12 && (linear[5] - 1.0).abs() < 1e-12,
        "{linear:?}"
    );
    assert_eq!(run("linear:0.5:1:2", 3, 1), vec![0.5, 0.75, 1.0, 1.0]);
    let one_cycle = run("onecycle:2.0:0.5", 2, 5); // total 10 steps, peak at step 4
    assert!((one_cycle[0] - 0.08).abs() < 1e-12, "{one_cycle:?}");
    assert_eq!(run("plateau:0.5:0", 3, 1), vec![1.0, 1.0, 0.5, 0.25]); // the metric never improves
}

#[test]
fn scheduler_spec_errors_name_the_spec() {
    let mut opt = build("sgd", params(), &OptimOptions::default()).unwrap();
    let mut err = |spec: &str| {
        build_scheduler(spec, opt.as_mut(), 10, 10)
            .err()
            .unwrap()
            .to_string()
    };
    assert!(err("bogus").starts_with("scheduler spec 'bogus': unknown scheduler"));
    assert_eq!(err("step"), "scheduler spec 'step': step needs STEP_SIZE");
    assert!(err("step:x").contains("STEP_SIZE must be a non-negative integer, got 'x'"));
    assert_eq!(
        err("step:0"),
        "scheduler spec 'step:0': StepLR: step_size must be positive, got 0"
    );
    assert!(err("step:2:0.5:9").contains("at most 2 arguments"));
    assert!(err("multistep:a,b").contains("milestone 'a' is not an epoch number"));
    assert!(err("exponential").contains("exponential needs GAMMA"));
    assert!(err("onecycle").contains("onecycle needs MAX_LR"));
    assert!(err("plateau:2").contains("Factor should be < 1.0"));
    // What would make the lr NaN or negative is refused, as `--lr` is.
    for spec in [
        "exponential:nan",
        "step:2:inf",
        "cosine:5:NaN",
        "onecycle:-inf",
    ] {
        let value = spec.rsplit(':').next().unwrap();
        let want = format!("must be a finite number, got '{value}'");
        assert!(err(spec).contains(&want), "{spec}: {}", err(spec));
    }
    assert!(err("exponential:-1").contains("GAMMA must not be negative, got -1"));
    assert!(err("multistep:2,4:-0.5").contains("GAMMA must not be negative"));
    assert!(err("cosine:5:-0.1").contains("ETA_MIN must not be negative"));
    assert!(err("onecycle:-5").contains("MAX_LR must not be negative"));
}
