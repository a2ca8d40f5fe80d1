//! The default generator against PyTorch's: after the same `manual_seed`,
//! the same draws give the same values (`tests/pytorch/random_streams.py`
//! made the reference with torch 2.15). One test alone in its binary: every
//! test thread of a binary shares the default generator.

use autograd::{manual_seed, Generator, Tensor};
use nn::init::{self, FanMode, Nonlinearity};
use nn::models::NeuralNetwork;
use nn::{Linear, Module};
use serde_json::Value;

fn bits(t: &Tensor) -> Vec<u32> {
    t.to_vec().iter().map(|v| v.to_bits()).collect()
}

fn u32s(v: &Value) -> Vec<u32> {
    v.as_array()
        .expect("an array")
        .iter()
        .map(|x| x.as_u64().expect("a u32") as u32)
        .collect()
}

/// Distance in ulps between two finite f32s of the same sign.
fn ulps(a: u32, b: u32) -> u32 {
    a.abs_diff(b)
}

#[test]
fn manual_seed_gives_pytorchs_draws() {
    let reference: Value =
        serde_json::from_str(include_str!("pytorch/random_streams.json")).expect("JSON");
    let mut worst_fill = 0;
    for case in reference["cases"].as_array().expect("cases") {
        let seed = case["seed"].as_u64().expect("seed");
        manual_seed(seed);
        // Building a Dropout draws nothing (PyTorch's draws its masks when it runs).
        let _dropout = nn::Dropout::new(0.5);
        // Bit for bit: uniform draws, and normal ones drawn one at a time
        // (the second of each pair kept across calls).
        assert_eq!(
            bits(&Tensor::rand(&[5])),
            u32s(&case["rand"]),
            "seed {seed}: rand"
        );
        let mut small = bits(&Tensor::randn(&[3]));
        small.extend(bits(&Tensor::randn(&[3])));
        assert_eq!(
            small,
            u32s(&case["randn_small"]),
            "seed {seed}: randn(3) twice"
        );
        // 16 or more: PyTorch's algorithm, its vectorized log/cos/sin an ulp
        // or two away from the C library's here and there.
        let fill = bits(&Tensor::randn(&[37]));
        for (i, (&got, &want)) in fill.iter().zip(&u32s(&case["randn_fill"])).enumerate() {
            let d = ulps(got, want);
            assert!(d <= 4, "seed {seed}: randn(37)[{i}] is {d} ulps away");
            worst_fill = worst_fill.max(d);
        }
        let randint: Vec<f32> = case["randint"]
            .as_array()
            .expect("randint")
            .iter()
            .map(|x| x.as_i64().expect("an integer") as f32)
            .collect();
        assert_eq!(
            Tensor::randint(-3, 10, &[20]).to_vec(),
            randint,
            "seed {seed}: randint"
        );
        let linear = Linear::new(7, 3);
        assert_eq!(
            bits(linear.weight()),
            u32s(&case["linear"]["weight"]),
            "seed {seed}"
        );
        assert_eq!(
            bits(linear.bias().expect("a bias")),
            u32s(&case["linear"]["bias"])
        );
        // The tutorial's model: every parameter's first and last values, and
        // the sum of all of them, added in order in f64 as the script adds them.
        let model = NeuralNetwork::new();
        for (name, tensor) in model.state_dict().iter() {
            let want = &case["tutorial"][name];
            let values = tensor.to_vec();
            let all = bits(tensor);
            assert_eq!(all[..8], u32s(&want["first"])[..], "seed {seed}: {name}");
            assert_eq!(
                all[all.len() - 8..],
                u32s(&want["last"])[..],
                "seed {seed}: {name}"
            );
            let sum = values.iter().fold(0.0f64, |s, &v| s + v as f64);
            let want_sum = f64::from_bits(want["sum_bits"].as_u64().expect("sum_bits"));
            assert_eq!(sum, want_sum, "seed {seed}: {name}: sum");
        }
        let w = Tensor::zeros(&[4, 5]);
        init::normal_(&w, 0.5, 0.02);
        for (&got, &want) in bits(&w).iter().zip(&u32s(&case["normal_fill"])) {
            assert!(ulps(got, want) <= 4, "seed {seed}: normal_ [4, 5]");
        }
        let v = Tensor::zeros(&[3]);
        init::normal_(&v, 0.5, 0.02);
        assert_eq!(
            bits(&v),
            u32s(&case["normal_small"]),
            "seed {seed}: normal_ [3]"
        );
        let k = Tensor::zeros(&[3, 4]);
        init::kaiming_uniform_(&k, FanMode::FanIn, Nonlinearity::LeakyRelu(0.1));
        assert_eq!(
            bits(&k),
            u32s(&case["kaiming_uniform"]),
            "seed {seed}: kaiming"
        );
        // 16 or more with a mean and a standard deviation: within a few ulps
        // of the standard normal value, scaled (one rounding, as PyTorch's).
        let wide = Tensor::zeros(&[40]);
        init::normal_(&wide, -1.0, 3.0);
        for (&got, &want) in bits(&wide).iter().zip(&u32s(&case["normal_fill_wide"])) {
            let (got, want) = (f32::from_bits(got), f32::from_bits(want));
            let tol = 4.0 * f32::EPSILON * ((want + 1.0).abs() + 1.0);
            assert!(
                (got - want).abs() <= tol,
                "seed {seed}: normal_(-1, 3): {got} vs {want}"
            );
        }
        // A strided tensor is drawn value by value in memory order.
        let base = Tensor::zeros(&[4, 5]);
        init::normal_(&base.t(), 0.0, 1.0);
        assert_eq!(
            bits(&base),
            u32s(&case["normal_strided"]),
            "seed {seed}: normal_ of w.t()"
        );
        let base = Tensor::zeros(&[4, 5]);
        init::uniform_(&base.t(), -1.0, 2.0);
        assert_eq!(
            bits(&base),
            u32s(&case["uniform_strided"]),
            "seed {seed}: uniform_ of w.t()"
        );
        // Dropout's masks; p = 1 draws nothing.
        let dropped = nn::Dropout::new(0.3).forward(&Tensor::ones(&[40]));
        assert_eq!(
            bits(&dropped),
            u32s(&case["dropout"]),
            "seed {seed}: dropout"
        );
        nn::Dropout::new(1.0).forward(&Tensor::ones(&[10]));
        assert_eq!(
            bits(&Tensor::rand(&[1])),
            u32s(&case["after_dropout_1"]),
            "seed {seed}"
        );
        // A generator of its own: randperm (datasets' tests check random_split's cuts of it).
        let perm: Vec<u64> = Generator::new(seed)
            .permutation(1000)
            .iter()
            .map(|&i| i as u64)
            .collect();
        let want: Vec<u64> = case["randperm"]
            .as_array()
            .expect("randperm")
            .iter()
            .map(|x| x.as_u64().expect("an index"))
            .collect();
        assert_eq!(perm, want, "seed {seed}: randperm(1000)");
    }
    println!("randn(37): at most {worst_fill} ulps from PyTorch's");
}
