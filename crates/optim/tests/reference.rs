//! The trajectories PyTorch computed (float64) in
//! reference/pytorch_reference.json, key "optimizers" (nine of 12 steps
//! there), on sum(a·x² + b·x). We run them in f32 with the gradient from
//! autograd; every configuration and step the file holds is checked.

use autograd::Tensor;
use optim::{
    Adagrad, AdagradConfig, Adam, AdamConfig, AdamW, AdamWConfig, Optimizer, RMSprop,
    RmspropConfig, SgdConfig, SGD,
};
use serde_json::Value;

// The reference files (Adagrad, `maximize`, ... in the second).
#[path = "../../nn/tests/pytorch/references.rs"]
mod references;
use references::references;

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number") as f32)
        .collect()
}

/// The optimizer an entry names, with its options over PyTorch's defaults.
fn optimizer_for(entry: &Value, x: &Tensor) -> Box<dyn Optimizer> {
    let options = entry["options"].as_object().expect("options");
    for key in options.keys() {
        let known = [
            "lr",
            "momentum",
            "dampening",
            "nesterov",
            "weight_decay",
            "betas",
            "eps",
            "amsgrad",
            "alpha",
            "centered",
            "maximize",
            "lr_decay",
            "initial_accumulator_value",
            // How PyTorch runs the update, not what it computes.
            "foreach",
            "fused",
            "capturable",
            "differentiable",
        ];
        assert!(
            known.contains(&key.as_str()),
            "option '{key}' not handled by this test"
        );
    }
    let num = |key: &str, default: f64| {
        options
            .get(key)
            .map_or(default, |v| v.as_f64().expect("number"))
    };
    let flag = |key: &str| options.get(key).is_some_and(|v| v.as_bool().expect("bool"));
    let betas = |default: (f64, f64)| {
        options.get("betas").map_or(default, |b| {
            (b[0].as_f64().unwrap(), b[1].as_f64().unwrap())
        })
    };
    let params = vec![x.clone()];
    match entry["optimizer"].as_str().expect("name") {
        "SGD" => {
            let d = SgdConfig::default();
            let config = SgdConfig {
                lr: num("lr", d.lr),
                momentum: num("momentum", d.momentum),
                dampening: num("dampening", d.dampening),
                weight_decay: num("weight_decay", d.weight_decay),
                nesterov: flag("nesterov"),
                maximize: flag("maximize"),
            };
            Box::new(SGD::new(params, config).unwrap())
        }
        "Adam" => {
            let d = AdamConfig::default();
            let config = AdamConfig {
                lr: num("lr", d.lr),
                betas: betas(d.betas),
                eps: num("eps", d.eps),
                weight_decay: num("weight_decay", d.weight_decay),
                amsgrad: flag("amsgrad"),
                maximize: flag("maximize"),
            };
            Box::new(Adam::new(params, config).unwrap())
        }
        "AdamW" => {
            let d = AdamWConfig::default();
            let config = AdamWConfig {
                lr: num("lr", d.lr),
                betas: betas(d.betas),
                eps: num("eps", d.eps),
                weight_decay: num("weight_decay", d.weight_decay),
                amsgrad: flag("amsgrad"),
                maximize: flag("maximize"),
            };
            Box::new(AdamW::new(params, config).unwrap())
        }
        "RMSprop" => {
            let d = RmspropConfig::default();
            let config = RmspropConfig {
                lr: num("lr", d.lr),
                alpha: num("alpha", d.alpha),
                eps: num("eps", d.eps),
                weight_decay: num("weight_decay", d.weight_decay),
                momentum: num("momentum", d.momentum),
                centered: flag("centered"),
                maximize: flag("maximize"),
            };
            Box::new(RMSprop::new(params, config).unwrap())
        }
        "Adagrad" => {
            let d = AdagradConfig::default();
            let config = AdagradConfig {
                lr: num("lr", d.lr),
                lr_decay: num("lr_decay", d.lr_decay),
                weight_decay: num("weight_decay", d.weight_decay),
                initial_accumulator_value: num(
                    "initial_accumulator_value",
                    d.initial_accumulator_value,
                ),
                eps: num("eps", d.eps),
                maximize: flag("maximize"),
            };
            Box::new(Adagrad::new(params, config).unwrap())
        }
        other => panic!("unexpected optimizer {other}"),
    }
}

#[test]
fn every_pytorch_trajectory_is_reproduced() {
    for (_, json) in references() {
        trajectories_match(&json);
    }
}

fn trajectories_match(json: &Value) {
    let entries = json["optimizers"].as_object().expect("optimizers");
    assert!(
        !entries.is_empty(),
        "no optimizer configuration in the file"
    );
    for (name, entry) in entries {
        assert_eq!(entry["objective"], "sum(a*x^2 + b*x)");
        let n = floats(&entry["x0"]).len();
        let a = Tensor::from_vec(floats(&entry["a"]), &[n]);
        let b = Tensor::from_vec(floats(&entry["b"]), &[n]);
        let x = Tensor::from_vec(floats(&entry["x0"]), &[n]).requires_grad_(true);
        let mut opt = optimizer_for(entry, &x);
        let expected = entry["params_after_each_step"].as_array().unwrap();
        assert!(!expected.is_empty(), "{name}: no steps");
        for (step, want) in expected.iter().enumerate() {
            opt.zero_grad();
            a.mul(&x.mul(&x)).add(&b.mul(&x)).sum().backward().unwrap();
            opt.step();
            let want: Vec<f64> = want
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect();
            for (i, (&got, &want)) in x.to_vec().iter().zip(&want).enumerate() {
                let err = (got as f64 - want).abs();
                assert!(
                    err <= 1e-5 * want.abs() + 1e-6,
                    "{name}: step {} x[{i}] = {got}, PyTorch {want} (error {err:e})",
                    step + 1
                );
            }
        }
    }
}
