//! Large parameters are updated on several threads; the result must be the
//! same bit for bit whatever the number of threads.

use autograd::{Generator, Tensor};
use optim::{
    Adagrad, AdagradConfig, Adam, AdamConfig, AdamW, AdamWConfig, Optimizer, RMSprop,
    RmspropConfig, SgdConfig, SGD,
};

/// Shapes of the parameters: two above the size that is split (one not a
/// multiple of 16) and a small one.
const SHAPES: [&[usize]; 3] = [&[100_003], &[70, 1000], &[10]];
const STEPS: u64 = 3;

type Make = fn(Vec<Tensor>) -> Box<dyn Optimizer>;

fn optimizers() -> Vec<(&'static str, Make)> {
    vec![
        ("sgd", |p| {
            let c = SgdConfig {
                lr: 0.1,
                weight_decay: 0.01,
                ..Default::default()
            };
            Box::new(SGD::new(p, c).unwrap())
        }),
        ("sgd nesterov", |p| {
            let c = SgdConfig {
                lr: 0.1,
                momentum: 0.9,
                nesterov: true,
                ..Default::default()
            };
            Box::new(SGD::new(p, c).unwrap())
        }),
        ("adam amsgrad", |p| {
            let c = AdamConfig {
                amsgrad: true,
                weight_decay: 0.01,
                ..Default::default()
            };
            Box::new(Adam::new(p, c).unwrap())
        }),
        ("adamw", |p| {
            Box::new(AdamW::new(p, AdamWConfig::default()).unwrap())
        }),
        ("rmsprop centered momentum", |p| {
            let c = RmspropConfig {
                momentum: 0.9,
                centered: true,
                maximize: true,
                ..Default::default()
            };
            Box::new(RMSprop::new(p, c).unwrap())
        }),
        ("adagrad", |p| {
            let c = AdagradConfig {
                lr_decay: 0.1,
                initial_accumulator_value: 0.1,
                ..Default::default()
            };
            Box::new(Adagrad::new(p, c).unwrap())
        }),
    ]
}

/// The parameters' bits after `STEPS` steps with seeded random gradients, on
/// a pool of `threads` threads.
fn train(make: Make, threads: usize) -> Vec<Vec<u32>> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    let mut g = Generator::new(7);
    let params: Vec<Tensor> = SHAPES
        .iter()
        .map(|s| Tensor::rand_uniform(s, -1.0, 1.0, &mut g).requires_grad_(true))
        .collect();
    let mut opt = make(params.clone());
    for _ in 0..STEPS {
        for p in &params {
            p.set_grad(Some(Tensor::rand_uniform(p.shape(), -1.0, 1.0, &mut g)));
        }
        pool.install(|| opt.step());
    }
    params
        .iter()
        .map(|p| p.to_vec().iter().map(|x| x.to_bits()).collect())
        .collect()
}

#[test]
fn one_and_three_threads_give_the_same_bits() {
    for (name, make) in optimizers() {
        let one = train(make, 1);
        let three = train(make, 3);
        for (k, (a, b)) in one.iter().zip(&three).enumerate() {
            let first_difference = a.iter().zip(b).position(|(a, b)| a != b);
            assert_eq!(
                first_difference, None,
                "{name}: parameter {k} differs between 1 and 3 threads"
            );
        }
    }
}
