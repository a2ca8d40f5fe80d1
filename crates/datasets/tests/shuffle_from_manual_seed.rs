//! A DataLoader with no seed of its own draws from the default generator as
//! PyTorch's does: after the same `manual_seed`, PyTorch's shuffled orders, and
//! the same state after an unshuffled epoch. One test alone in its binary: every test
//! thread of a binary shares the default generator.

use autograd::{manual_seed, Tensor};
use datasets::{DataLoader, TensorDataset};

#[test]
fn unseeded_shuffle_gives_pytorchs_orders_after_manual_seed() {
    // torch.manual_seed(5); loader = DataLoader(range(20), batch_size=20,
    // shuffle=True); [next(iter(loader)).tolist() for _ in range(3)], torch 2.15.
    let pytorch = [
        [
            8, 5, 12, 19, 1, 10, 2, 11, 13, 4, 3, 7, 14, 6, 18, 16, 17, 0, 9, 15,
        ],
        [
            5, 9, 7, 4, 11, 0, 13, 17, 14, 10, 1, 18, 19, 12, 2, 6, 8, 3, 15, 16,
        ],
        [
            16, 13, 14, 15, 11, 7, 9, 19, 1, 3, 6, 17, 8, 18, 2, 0, 10, 12, 4, 5,
        ],
    ];
    let targets: Vec<f32> = (0..20).map(|i| i as f32).collect();
    let dataset = TensorDataset::new(Tensor::zeros(&[20, 1]), Tensor::from_vec(targets, &[20]));
    let loader = DataLoader::new(dataset, 20).shuffle(true);
    manual_seed(5);
    for want in pytorch {
        let (_, labels) = loader.iter().next().expect("a batch");
        let got: Vec<usize> = labels.to_vec().iter().map(|&t| t as usize).collect();
        assert_eq!(got, want);
    }

    // An unshuffled epoch draws the iterator's base seed too: torch.manual_seed(5);
    // one epoch of DataLoader(range(5), batch_size=2); torch.rand(2), torch 2.15.
    let dataset = TensorDataset::new(Tensor::zeros(&[5, 1]), Tensor::zeros(&[5]));
    let loader = DataLoader::new(dataset, 2);
    manual_seed(5);
    assert_eq!(loader.iter().count(), 3);
    let after: Vec<u32> = Tensor::rand(&[2])
        .to_vec()
        .iter()
        .map(|v| v.to_bits())
        .collect();
    assert_eq!(after, [1063800815, 1062332093]);
}
