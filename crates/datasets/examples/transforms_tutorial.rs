//! PyTorch's "Transforms" tutorial, line for line (each Python line above its
//! Rust). `Mnist` applies `ToTensor` itself (u8 pixels / 255 into a
//! `[1, 28, 28]` tensor), and its targets are class indices; the one-hot
//! `target_transform` is a function applied to a target, written with the
//! same in-place write the tutorial's `scatter_` does.
//! Run with `cargo run -p datasets --example transforms_tutorial`.

use autograd::Tensor;
use datasets::{Dataset, DatasetError, Mnist, ToTensor};

fn main() -> Result<(), DatasetError> {
    // ds = datasets.FashionMNIST(
    //     root="data",
    //     train=True,
    //     download=True,
    //     transform=ToTensor(),
    //     target_transform=Lambda(lambda y: torch.zeros(10, dtype=torch.float).scatter_(0, torch.tensor(y), value=1))
    // )
    let ds = Mnist::fashion_mnist("data", true, true)?;
    let target_transform = |y: f32| {
        let one_hot = Tensor::zeros(&[10]);
        one_hot.select(0, y as isize).fill_(1.0);
        one_hot
    };

    let (img, y) = ds.get(0);
    let target = target_transform(y);
    println!(
        "image {:?}, values in [{:?}, {:?}]",
        img.shape(),
        img.min().item(),
        img.max().item()
    );
    println!(
        "class {y} ({}), one-hot target {target}",
        ds.classes()[y as usize]
    );

    // ToTensor on raw pixels, as `Mnist` applies it.
    let t = ToTensor.apply(&[0, 51, 255, 102], 2, 2);
    println!("ToTensor of [[0, 51], [255, 102]]: {t}");
    Ok(())
}

/// CI runs the example (`test = true` in Cargo.toml), so that it cannot rot.
#[test]
fn the_example_runs() {
    // From the workspace root, as a user runs it: every example's test then
    // shares one data/ (cargo runs a test in its crate's directory).
    std::env::set_current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).unwrap();
    main().expect("the example runs");
}
