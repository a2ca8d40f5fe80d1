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

/// An element's update depends on nothing but that element: a large parameter
/// (split across threads, each range updated in blocks from its last to its
/// first) ends with the same bits as the same values held as small
/// parameters, one block each, on one thread.
#[test]
fn ranges_and_blocks_do_not_change_an_elements_update() {
    const LEN: usize = 100_003;
    const PIECE: usize = 1000;
    let mut g = Generator::new(11);
    let init = Tensor::rand_uniform(&[LEN], -1.0, 1.0, &mut g).to_vec();
    let grads: Vec<Vec<f32>> = (0..STEPS)
        .map(|_| Tensor::rand_uniform(&[LEN], -1.0, 1.0, &mut g).to_vec())
        .collect();
    let run = |pieces: usize, threads: usize, make: Make| -> Vec<u32> {
        let params: Vec<Tensor> = init
            .chunks(pieces)
            .map(|c| Tensor::from_slice(c, &[c.len()]).requires_grad_(true))
            .collect();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let mut opt = make(params.clone());
        for grad in &grads {
            for (p, g) in params.iter().zip(grad.chunks(pieces)) {
                p.set_grad(Some(Tensor::from_slice(g, &[g.len()])));
            }
            pool.install(|| opt.step());
        }
        params
            .iter()
            .flat_map(|p| p.to_vec())
            .map(f32::to_bits)
            .collect()
    };
    for (name, make) in optimizers() {
        let whole = run(LEN, 3, make);
        let pieces = run(PIECE, 1, make);
        let first_difference = whole.iter().zip(&pieces).position(|(a, b)| a != b);
        assert_eq!(
            first_difference, None,
            "{name}: one parameter and pieces differ"
        );
    }
}
