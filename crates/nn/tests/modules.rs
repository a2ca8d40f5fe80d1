//! Modules: PyTorch's names, init, train/eval, Dropout, BatchNorm1d, state dicts.

use autograd::gradcheck::gradcheck;
use autograd::{Generator, Tensor};
use nn::models::NeuralNetwork;
use nn::{
    sequential, BatchNorm1d, BatchNorm1dConfig, CheckpointError, Dropout, Flatten, Identity,
    Linear, LogSoftmax, Module, ReLU, Sequential, ShapeMismatch, Softmax, StateDict,
};

fn names(named: Vec<(String, Tensor)>) -> Vec<String> {
    named.into_iter().map(|(n, _)| n).collect()
}

#[test]
fn tutorial_model_has_pytorch_names_and_shapes() {
    let model = NeuralNetwork::new();
    let got: Vec<(String, Vec<usize>)> = model
        .named_parameters()
        .into_iter()
        .map(|(n, t)| (n, t.shape().to_vec()))
        .collect();
    // print([(n, p.shape) for n, p in model.named_parameters()]) in the tutorial.
    let want = [
        ("linear_relu_stack.0.weight", vec![512, 784]),
        ("linear_relu_stack.0.bias", vec![512]),
        ("linear_relu_stack.2.weight", vec![512, 512]),
        ("linear_relu_stack.2.bias", vec![512]),
        ("linear_relu_stack.4.weight", vec![10, 512]),
        ("linear_relu_stack.4.bias", vec![10]),
    ];
    assert_eq!(got, want.map(|(n, s)| (n.to_string(), s)));
    assert!(model
        .parameters()
        .iter()
        .all(|p| p.requires_grad() && p.is_leaf()));
    let logits = model.forward(&Tensor::rand(&[3, 1, 28, 28]));
    assert_eq!(logits.shape(), [3, 10]);
}

#[test]
fn tutorial_model_prints_like_pytorch() {
    // print(model) in the "Build the Neural Network" tutorial.
    let want = "NeuralNetwork(
  (flatten): Flatten(start_dim=1, end_dim=-1)
  (linear_relu_stack): Sequential(
    (0): Linear(in_features=784, out_features=512, bias=True)
    (1): ReLU()
    (2): Linear(in_features=512, out_features=512, bias=True)
    (3): ReLU()
    (4): Linear(in_features=512, out_features=10, bias=True)
  )
)";
    assert_eq!(NeuralNetwork::new().repr(), want);
}

#[test]
fn linear_init_is_pytorch_uniform_and_seeded() {
    let mut g = Generator::new(5);
    let layer = Linear::with_generator(100, 300, true, &mut g);
    let bound = 1.0 / 100f32.sqrt();
    let w = layer.weight().to_vec();
    assert_eq!(layer.weight().shape(), [300, 100]);
    assert!(w.iter().all(|v| v.abs() <= bound));
    // U(-b, b) has mean 0 and variance b²/3; 30000 samples pin both closely.
    let mean = w.iter().sum::<f32>() / w.len() as f32;
    let var = w.iter().map(|v| v * v).sum::<f32>() / w.len() as f32;
    assert!(mean.abs() < 0.01 * bound, "mean {mean}");
    assert!(
        (var / (bound * bound / 3.0) - 1.0).abs() < 0.03,
        "variance {var}"
    );
    let b = layer.bias().unwrap().to_vec();
    assert!(b.iter().all(|v| v.abs() <= bound) && b.iter().any(|v| v.abs() > bound / 2.0));
    // Same seed, same layer (the default generator: tests/seeding.rs).
    let again = Linear::with_generator(100, 300, true, &mut Generator::new(5));
    assert_eq!(again.weight().to_vec(), w);
    assert!(Linear::with_bias(4, 3, false).bias().is_none());
}

#[test]
fn linear_computes_x_wt_plus_b() {
    let layer = Linear::new(2, 2);
    let sd: StateDict = [
        (
            "weight".to_string(),
            Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]),
        ),
        ("bias".to_string(), Tensor::from_vec(vec![0.5, -0.5], &[2])),
    ]
    .into_iter()
    .collect();
    layer.load_state_dict(&sd, true).unwrap();
    // [1, 1] @ [[1, 3], [2, 4]] + [0.5, -0.5] = [3.5, 6.5]
    assert_eq!(
        layer
            .forward(&Tensor::from_vec(vec![1.0, 1.0], &[1, 2]))
            .to_vec(),
        vec![3.5, 6.5]
    );
}

#[test]
fn parameter_handles_share_storage_with_the_module() {
    // What an optimizer does: update the tensors from named_parameters in place.
    let layer = Linear::new(3, 1);
    let x = Tensor::ones(&[1, 3]);
    let before = layer.forward(&x).item();
    for p in layer.parameters() {
        p.with_data_mut(|d| d.iter_mut().for_each(|v| *v += 1.0));
    }
    assert!((layer.forward(&x).item() - (before + 4.0)).abs() < 1e-5);
}

#[test]
fn zero_grad_clears_every_gradient() {
    let model = sequential![Linear::new(3, 4), ReLU, Linear::new(4, 2)];
    model
        .forward(&Tensor::ones(&[2, 3]))
        .sum()
        .backward()
        .unwrap();
    assert!(model.parameters().iter().all(|p| p.grad().is_some()));
    model.zero_grad();
    assert!(model.parameters().iter().all(|p| p.grad().is_none()));
}

#[test]
fn simple_layers() {
    let x = Tensor::from_vec(vec![-1.0, 2.0, 0.0, 3.0], &[1, 2, 2]);
    assert_eq!(ReLU.forward(&x).to_vec(), vec![0.0, 2.0, 0.0, 3.0]);
    assert_eq!(Identity.forward(&x).to_vec(), x.to_vec());
    assert_eq!(Flatten::new().forward(&x).shape(), [1, 4]);
    assert_eq!(Flatten::with_start_dim(0).forward(&x).shape(), [4]);
    // Shapes as torch.nn.Flatten gives them (PyTorch 2.15).
    let y = Tensor::zeros(&[2, 3, 4, 5]);
    assert_eq!(Flatten::with_start_dim(-2).forward(&y).shape(), [2, 3, 20]);
    assert_eq!(Flatten::with_dims(1, 2).forward(&y).shape(), [2, 12, 5]);
    assert_eq!(
        Flatten::with_dims(0, -1).repr(),
        "Flatten(start_dim=0, end_dim=-1)"
    );
    assert_eq!(
        Flatten::with_dims(0, 0)
            .forward(&Tensor::scalar(3.0))
            .shape(),
        [1]
    );
    let p = Softmax::new(-1).forward(&x).to_vec();
    assert!((p[0] + p[1] - 1.0).abs() < 1e-6 && (p[2] + p[3] - 1.0).abs() < 1e-6);
    let lp = LogSoftmax::new(1).forward(&x).to_vec();
    // Along dim 1 the pairs are (-1, 0) and (2, 3): log softmax of (a, a+1) is (-ln(1+e), 1-ln(1+e)).
    let l = (1.0 + 1f32.exp()).ln();
    for (g, w) in lp.iter().zip([-l, -l, 1.0 - l, 1.0 - l]) {
        assert!((g - w).abs() < 1e-6);
    }
}

#[test]
fn dropout_masks_in_training_only() {
    let drop = Dropout::with_generator(0.25, Generator::new(3));
    let x = Tensor::ones(&[20_000]).requires_grad_(true);
    let y = drop.forward(&x);
    let v = y.to_vec();
    // Kept elements are scaled by 1/(1-p) so the expectation is unchanged.
    assert!(v.iter().all(|&e| e == 0.0 || (e - 4.0 / 3.0).abs() < 1e-6));
    let dropped = v.iter().filter(|&&e| e == 0.0).count() as f32 / v.len() as f32;
    assert!((dropped - 0.25).abs() < 0.015, "dropped {dropped}");
    // The gradient goes through the same mask.
    y.sum().backward().unwrap();
    assert_eq!(x.grad().unwrap().to_vec(), v);
    // Seeded: the same generator gives the same mask.
    let again = Dropout::with_generator(0.25, Generator::new(3)).forward(&Tensor::ones(&[20_000]));
    assert_eq!(again.to_vec(), v);
    // eval() reaches a Dropout nested two levels down; train() turns it back on.
    let model = sequential![Identity, sequential![Dropout::new(0.5)]];
    model.eval();
    assert_eq!(
        model.forward(&Tensor::ones(&[100])).to_vec(),
        vec![1.0; 100]
    );
    model.train();
    assert!(model.forward(&Tensor::ones(&[100])).to_vec().contains(&0.0));
    assert_eq!(
        Dropout::new(1.0).forward(&Tensor::ones(&[5])).to_vec(),
        vec![0.0; 5]
    );
}

/// The kept values as PyTorch 2.15 scales them (`F.dropout(torch.ones(1000),
/// p)`): 1 - p of the Python float p, rounded to f32, then an f32 division.
/// From an f32 p, p = 0.9 gave 9.999998; dividing in f64, p = 0.04 gave
/// 1.0416666.
#[test]
fn dropout_scale_is_computed_as_in_pytorch() {
    for (p, scale) in [
        (0.9, 10.0),
        (0.04, 1.041_666_7),
        (0.021, 1.021_450_5),
        (0.3, 1.428_571_5),
    ] {
        let y = Dropout::with_generator(p, Generator::new(1)).forward(&Tensor::ones(&[1000]));
        let kept: Vec<f32> = y.to_vec().into_iter().filter(|&v| v != 0.0).collect();
        assert!(!kept.is_empty());
        assert!(
            kept.iter().all(|&v| v == scale),
            "p {p}: {} != {scale}",
            kept[0]
        );
    }
}

#[test]
#[should_panic(expected = "dimension 1 out of range for a tensor of shape []")]
fn flatten_of_a_scalar_from_dim_1_panics_as_in_pytorch() {
    Flatten::new().forward(&Tensor::scalar(3.0));
}

#[test]
#[should_panic(expected = "start_dim cannot come after end_dim")]
fn flatten_with_start_after_end_panics() {
    Flatten::with_dims(2, 1).forward(&Tensor::zeros(&[2, 3, 4]));
}

#[test]
#[should_panic(expected = "dropout probability has to be between 0 and 1, but got 1.5")]
fn dropout_rejects_bad_p() {
    Dropout::new(1.5);
}

#[test]
fn batchnorm_normalises_and_tracks_like_pytorch() {
    let bn = BatchNorm1d::new(2);
    // Feature 0: [1, 3], mean 2, biased var 1, unbiased var 2.
    // Feature 1: [2, 6], mean 4, biased var 4, unbiased var 8.
    let x = Tensor::from_vec(vec![1.0, 2.0, 3.0, 6.0], &[2, 2]);
    let eps = 1e-5f32;
    let y = bn.forward(&x).to_vec();
    let want = [
        -1.0 / (1.0 + eps).sqrt(),
        -2.0 / (4.0 + eps).sqrt(),
        1.0 / (1.0 + eps).sqrt(),
        2.0 / (4.0 + eps).sqrt(),
    ];
    for (g, w) in y.iter().zip(want) {
        assert!((g - w).abs() < 1e-6, "{y:?}");
    }
    // running = 0.9 * running + 0.1 * batch: mean from 0, var (unbiased) from 1.
    let sd = bn.state_dict();
    assert_eq!(
        sd.keys().collect::<Vec<_>>(),
        [
            "weight",
            "bias",
            "running_mean",
            "running_var",
            "num_batches_tracked"
        ]
    );
    let close = |t: &Tensor, w: &[f32]| t.to_vec().iter().zip(w).all(|(a, b)| (a - b).abs() < 1e-6);
    assert!(
        close(bn.running_mean().unwrap(), &[0.2, 0.4]),
        "{:?}",
        bn.running_mean()
    );
    assert!(
        close(bn.running_var().unwrap(), &[1.1, 1.7]),
        "{:?}",
        bn.running_var()
    );
    assert_eq!(sd.get("num_batches_tracked").unwrap().to_vec(), vec![1.0]);
    assert_eq!(
        sd.get("num_batches_tracked").unwrap().shape(),
        [] as [usize; 0]
    );

    // Eval mode uses the running statistics and leaves them alone.
    bn.eval();
    let y = bn
        .forward(&Tensor::from_vec(vec![0.2, 0.4], &[1, 2]))
        .to_vec();
    assert!(y.iter().all(|v| v.abs() < 1e-6));
    let y = bn
        .forward(&Tensor::from_vec(vec![1.2, 0.4], &[1, 2]))
        .to_vec();
    assert!((y[0] - 1.0 / (1.1 + eps).sqrt()).abs() < 1e-6);
    assert_eq!(
        bn.state_dict().get("num_batches_tracked").unwrap().item(),
        1.0
    );
}

#[test]
fn batchnorm_3d_input_uses_batch_and_length() {
    // [N=1, C=1, L=4]: statistics over all four values 0, 2, 4, 6: mean 3, biased var 5.
    let bn = BatchNorm1d::new(1);
    let y = bn
        .forward(&Tensor::from_vec(vec![0.0, 2.0, 4.0, 6.0], &[1, 1, 4]))
        .to_vec();
    let s = (5.0f32 + 1e-5).sqrt();
    for (g, w) in y.iter().zip([-3.0 / s, -1.0 / s, 1.0 / s, 3.0 / s]) {
        assert!((g - w).abs() < 1e-6);
    }
    // Unbiased var 20/3: running_var = 0.9 + 0.1 * 20/3.
    assert!((bn.running_var().unwrap().item() - (0.9 + 2.0 / 3.0)).abs() < 1e-6);
}

#[test]
fn batchnorm_gradients_agree_with_finite_differences() {
    let x = Tensor::from_vec(
        (0..12).map(|i| (i as f32 * 1.3).sin() * 2.0).collect(),
        &[4, 3],
    );
    let bn = BatchNorm1d::new(3);
    gradcheck(|t| bn.forward(&t[0]), std::slice::from_ref(&x)).unwrap();
    bn.eval();
    gradcheck(|t| bn.forward(&t[0]), &[x]).unwrap();
}

/// PyTorch's options: `momentum=None` (cumulative average), `affine=False`,
/// `bias=False`, `track_running_stats=False`; expectations by hand from
/// `torch.nn.BatchNorm1d`'s documented behaviour.
#[test]
fn batchnorm_options_as_in_pytorch() {
    let batch = |v: [f32; 4]| Tensor::from_vec(v.to_vec(), &[2, 2]);
    // Cumulative average: after two batches, the plain mean of their statistics.
    // Batch 1: means [2, 4], unbiased vars [2, 8]; batch 2: means [0, 1], vars [2, 2].
    let config = BatchNorm1dConfig {
        momentum: None,
        ..Default::default()
    };
    let bn = BatchNorm1d::with_config(2, config);
    bn.forward(&batch([1.0, 2.0, 3.0, 6.0]));
    assert_eq!(bn.running_mean().unwrap().to_vec(), [2.0, 4.0]);
    assert_eq!(bn.running_var().unwrap().to_vec(), [2.0, 8.0]);
    bn.forward(&batch([-1.0, 0.0, 1.0, 2.0]));
    assert_eq!(bn.running_mean().unwrap().to_vec(), [1.0, 2.5]);
    assert_eq!(bn.running_var().unwrap().to_vec(), [2.0, 5.0]);

    // No running statistics: none in the state dict, batch statistics in eval mode too.
    let config = BatchNorm1dConfig {
        track_running_stats: false,
        ..Default::default()
    };
    let bn = BatchNorm1d::with_config(2, config);
    assert_eq!(names(bn.named_buffers()), [] as [&str; 0]);
    assert!(bn.running_mean().is_none());
    let x = batch([1.0, 2.0, 3.0, 6.0]);
    let train = bn.forward(&x).to_vec();
    bn.eval();
    assert_eq!(bn.forward(&x).to_vec(), train);
    assert_eq!(
        bn.state_dict().keys().collect::<Vec<_>>(),
        ["weight", "bias"]
    );

    // Not affine: no parameters, the output is the normalised input.
    let config = BatchNorm1dConfig {
        affine: false,
        ..Default::default()
    };
    let bn = BatchNorm1d::with_config(2, config);
    assert!(bn.named_parameters().is_empty());
    assert_eq!(bn.forward(&x).to_vec(), train);
    assert_eq!(
        bn.state_dict().keys().collect::<Vec<_>>(),
        ["running_mean", "running_var", "num_batches_tracked"]
    );

    // A weight but no bias.
    let config = BatchNorm1dConfig {
        bias: false,
        ..Default::default()
    };
    let bn = BatchNorm1d::with_config(2, config);
    assert_eq!(names(bn.named_parameters()), ["weight"]);
    assert_eq!(bn.forward(&x).to_vec(), train);
}

#[test]
#[should_panic(expected = "expected more than 1 value per channel when training")]
fn batchnorm_refuses_single_sample_batches_in_training() {
    BatchNorm1d::new(2).forward(&Tensor::ones(&[1, 2]));
}

#[test]
fn state_dict_groups_buffers_with_their_module_as_pytorch() {
    let model = sequential![
        Linear::new(3, 4),
        BatchNorm1d::new(4),
        ReLU,
        Linear::new(4, 2)
    ];
    let keys: Vec<String> = model.state_dict().keys().map(String::from).collect();
    assert_eq!(
        keys,
        [
            "0.weight",
            "0.bias",
            "1.weight",
            "1.bias",
            "1.running_mean",
            "1.running_var",
            "1.num_batches_tracked",
            "3.weight",
            "3.bias"
        ]
    );
    assert_eq!(
        names(model.named_buffers()),
        ["1.running_mean", "1.running_var", "1.num_batches_tracked"]
    );
}

#[test]
fn load_state_dict_reports_each_problem() {
    let model = sequential![Linear::new(3, 2)];
    let weight = Tensor::from_vec(vec![1.0; 6], &[2, 3]);
    let bias = Tensor::from_vec(vec![0.5, 0.25], &[2]);
    let before = model.state_dict().get("0.weight").unwrap().to_vec();

    let only_weight: StateDict = [("0.weight".to_string(), weight.clone())]
        .into_iter()
        .collect();
    match model.load_state_dict(&only_weight, true) {
        Err(CheckpointError::IncompatibleStateDict { missing, .. }) => {
            assert_eq!(missing, ["0.bias"])
        }
        other => panic!("expected missing keys, got {other:?}"),
    }
    // Both kinds at once: both named, as PyTorch does.
    let mut both = only_weight.clone();
    both.insert("1.weight", weight.clone());
    let err = model.load_state_dict(&both, true).unwrap_err();
    assert_eq!(
        err.to_string(),
        "missing key(s) in state_dict: \"0.bias\"; unexpected key(s) in state_dict: \"1.weight\""
    );
    let mut extra = only_weight.clone();
    extra.insert("0.bias", bias.clone());
    extra.insert("1.weight", weight.clone());
    let err = model.load_state_dict(&extra, true).unwrap_err();
    assert!(
        matches!(&err, CheckpointError::IncompatibleStateDict { missing, unexpected, mismatched }
        if missing.is_empty() && unexpected == &["1.weight"] && mismatched.is_empty())
    );
    assert_eq!(
        err.to_string(),
        "unexpected key(s) in state_dict: \"1.weight\""
    );

    let mut wrong = extra.clone();
    wrong.insert("0.weight", Tensor::zeros(&[3, 2]));
    let err = model.load_state_dict(&wrong, false).unwrap_err();
    assert!(
        matches!(&err, CheckpointError::IncompatibleStateDict { missing, unexpected, mismatched }
        if missing.is_empty() && unexpected.is_empty() && mismatched == &[ShapeMismatch {
            key: "0.weight".to_string(), expected: vec![2, 3], found: vec![3, 2] }])
    );
    assert!(
        err.to_string().contains("size mismatch for 0.weight"),
        "{err}"
    );
    // Strict, all three kinds at once: each reported, in PyTorch's order
    // (torch 2.15: "Missing key(s) in state_dict: "0.bias". Unexpected key(s)
    // in state_dict: "1.weight". size mismatch for 0.weight: copying a param
    // with shape torch.Size([3, 2]) from checkpoint, the shape in current
    // model is torch.Size([2, 3]).").
    let mut all_three: StateDict = [("0.weight".to_string(), Tensor::zeros(&[3, 2]))]
        .into_iter()
        .collect();
    all_three.insert("1.weight", weight.clone());
    let err = model.load_state_dict(&all_three, true).unwrap_err();
    assert_eq!(
        err.to_string(),
        "missing key(s) in state_dict: \"0.bias\"; unexpected key(s) in state_dict: \"1.weight\"; \
         size mismatch for 0.weight: copying a tensor of shape [3, 2] from the checkpoint, the shape \
         in the current model is [2, 3]"
    );
    // Nothing was copied by the failed loads.
    assert_eq!(model.state_dict().get("0.weight").unwrap().to_vec(), before);

    // Non-strict: loads what matches and says what it skipped.
    let skipped = model.load_state_dict(&extra, false).unwrap();
    assert_eq!(skipped.unexpected_keys, ["1.weight"]);
    assert!(skipped.missing_keys.is_empty());
    assert_eq!(
        model.state_dict().get("0.bias").unwrap().to_vec(),
        vec![0.5, 0.25]
    );
    let skipped = sequential![Linear::new(3, 2)]
        .load_state_dict(&only_weight, false)
        .unwrap();
    assert_eq!(skipped.missing_keys, ["0.bias"]);
}

#[test]
fn a_user_model_composes_names_with_prefixed() {
    struct Net {
        scale: Tensor,
        body: Sequential,
    }
    impl Module for Net {
        fn forward(&self, x: &Tensor) -> Tensor {
            self.body.forward(x).mul(&self.scale)
        }
        fn named_parameters(&self) -> Vec<(String, Tensor)> {
            let mut named = vec![("scale".to_string(), self.scale.clone())];
            named.extend(nn::prefixed("body", self.body.named_parameters()));
            named
        }
        fn named_children(&self) -> Vec<(String, &dyn Module)> {
            vec![("body".to_string(), &self.body)]
        }
    }
    let net = Net {
        scale: Tensor::ones(&[2]).requires_grad_(true),
        body: sequential![Linear::new(3, 2), BatchNorm1d::new(2)],
    };
    assert_eq!(
        names(net.named_parameters()),
        [
            "scale",
            "body.0.weight",
            "body.0.bias",
            "body.1.weight",
            "body.1.bias"
        ]
    );
    assert_eq!(names(net.named_buffers())[0], "body.1.running_mean");
    assert_eq!(net.state_dict().len(), 8);
}

#[test]
fn layers_print_like_pytorch() {
    // repr() of each layer as PyTorch 2.x prints it.
    assert_eq!(
        BatchNorm1d::new(4).repr(),
        "BatchNorm1d(4, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)"
    );
    let config = BatchNorm1dConfig {
        eps: 1e-3,
        momentum: None,
        affine: false,
        track_running_stats: false,
        ..Default::default()
    };
    assert_eq!(
        BatchNorm1d::with_config(4, config).repr(),
        "BatchNorm1d(4, eps=0.001, momentum=None, affine=False, bias=False, track_running_stats=False)"
    );
    assert_eq!(Dropout::new(0.5).repr(), "Dropout(p=0.5, inplace=False)");
    assert_eq!(Dropout::new(1.0).repr(), "Dropout(p=1.0, inplace=False)");
    assert_eq!(Dropout::new(0.0).repr(), "Dropout(p=0.0, inplace=False)");
    assert_eq!(Softmax::new(1).repr(), "Softmax(dim=1)");
    assert_eq!(LogSoftmax::new(-1).repr(), "LogSoftmax(dim=-1)");
    assert_eq!(Identity.repr(), "Identity()");
    assert_eq!(
        Linear::with_bias(3, 2, false).repr(),
        "Linear(in_features=3, out_features=2, bias=False)"
    );
}

/// `Sequential` runs a Linear followed by ReLU as one fused op; the values and
/// gradients must be those of the layers one by one, bit for bit.
#[test]
fn sequential_fuses_linear_and_relu_without_changing_results() {
    autograd::manual_seed(3);
    let model = nn::sequential![
        Linear::new(20, 30),
        ReLU,
        Linear::new(30, 5),
        ReLU,
        Linear::new(5, 2)
    ];
    let x = Tensor::rand_uniform(&[9, 20], -1.0, 1.0, &mut Generator::new(4));
    let params: Vec<Tensor> = model.parameters();
    let run = |fused: bool| {
        model.zero_grad();
        let y = if fused {
            model.forward(&x)
        } else {
            let mut y = x.clone();
            for (_, layer) in model.named_children() {
                y = layer.forward(&y);
            }
            y
        };
        let values: Vec<u32> = y.to_vec().iter().map(|v| v.to_bits()).collect();
        y.sum().backward().unwrap();
        let grads: Vec<Vec<u32>> = params
            .iter()
            .map(|p| {
                p.grad()
                    .unwrap()
                    .to_vec()
                    .iter()
                    .map(|v| v.to_bits())
                    .collect()
            })
            .collect();
        (values, grads)
    };
    assert_eq!(run(true), run(false));
}

/// A module that has buffers and no parameters comes first in its parent's
/// state dict when it comes first in the parent (PyTorch walks the modules);
/// its count may be absent from a state dict, as PyTorch allows.
#[test]
fn state_dict_follows_the_modules_and_tolerates_a_missing_count() {
    let config = BatchNorm1dConfig {
        affine: false,
        ..Default::default()
    };
    let model = sequential![BatchNorm1d::with_config(3, config), Linear::new(3, 3)];
    let keys: Vec<String> = model.state_dict().keys().map(String::from).collect();
    assert_eq!(
        keys,
        [
            "0.running_mean",
            "0.running_var",
            "0.num_batches_tracked",
            "1.weight",
            "1.bias"
        ]
    );
    model.forward(&Tensor::from_vec(
        vec![1.0, 2.0, 3.0, 4.0, 5.0, 7.0],
        &[2, 3],
    ));
    let without_count: StateDict = model
        .state_dict()
        .iter()
        .filter(|(k, _)| !k.ends_with("num_batches_tracked"))
        .map(|(k, t)| (k.to_string(), Tensor::from_vec(t.to_vec(), t.shape())))
        .collect();
    let fresh = sequential![BatchNorm1d::with_config(3, config), Linear::new(3, 3)];
    let skipped = fresh.load_state_dict(&without_count, true).unwrap();
    assert!(skipped.missing_keys.is_empty(), "{skipped:?}");
    assert_eq!(
        fresh
            .state_dict()
            .get("0.num_batches_tracked")
            .unwrap()
            .item(),
        0.0
    );
    assert_eq!(
        fresh.state_dict().get("0.running_mean").unwrap().to_vec(),
        model.state_dict().get("0.running_mean").unwrap().to_vec()
    );
}

/// Two names for one layer (tied weights): `parameters()` lists each tensor
/// once, as PyTorch does, so an optimizer can be built on the model; the
/// state dict keeps both names.
#[test]
fn shared_parameters_are_listed_once() {
    struct Tied {
        layer: Linear,
    }
    impl Module for Tied {
        fn forward(&self, x: &Tensor) -> Tensor {
            self.layer.forward(&self.layer.forward(x))
        }
        fn named_children(&self) -> Vec<(String, &dyn Module)> {
            vec![
                ("encoder".into(), &self.layer),
                ("decoder".into(), &self.layer),
            ]
        }
    }
    let model = Tied {
        layer: Linear::new(2, 2),
    };
    assert_eq!(names(model.named_parameters()).len(), 4);
    let params = model.parameters();
    assert_eq!(params.len(), 2);
    assert!(params[0].same(model.layer.weight()));
    assert_eq!(model.state_dict().len(), 4);
}
