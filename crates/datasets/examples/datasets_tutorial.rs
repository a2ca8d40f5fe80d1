//! PyTorch's "Datasets & DataLoaders" tutorial, line for line (each Python
//! line above its Rust). A terminal stands in for matplotlib: images are
//! drawn in characters. The tutorial's custom dataset reads image files
//! listed in a CSV; this one reads the IDX files FashionMNIST ships in,
//! which shows the same thing: a type with `len` and `get` is a Dataset.
//! Run with `cargo run -p datasets --example datasets_tutorial`.

use std::path::Path;

use autograd::{manual_seed, Tensor};
use datasets::{read_idx, DataLoader, Dataset, DatasetError, Mnist, ToTensor};

/// `plt.imshow(img.squeeze(), cmap="gray")`, in a terminal: darker to lighter.
fn imshow(img: &Tensor) {
    let (h, w) = (img.size(-2), img.size(-1));
    let shades = [' ', '.', ':', '-', '=', '+', '*', '#', '%', '@'];
    for row in img.to_vec().chunks(w).take(h) {
        let line: String = row
            .iter()
            .map(|v| shades[((v * 9.0).round() as usize).min(9)])
            .collect();
        println!("  {line}");
    }
}

// class CustomImageDataset(Dataset):
//     def __init__(self, annotations_file, img_dir, transform=None, target_transform=None):
//     def __len__(self):
//     def __getitem__(self, idx):
struct CustomImageDataset {
    images: Vec<u8>,
    labels: Vec<u8>,
    rows: usize,
    cols: usize,
}

impl CustomImageDataset {
    fn new(images_file: &Path, labels_file: &Path) -> Result<CustomImageDataset, DatasetError> {
        let (images, labels) = (read_idx(images_file)?, read_idx(labels_file)?);
        let (datasets::IdxData::U8(pixels), datasets::IdxData::U8(classes)) =
            (images.data, labels.data)
        else {
            return Err(DatasetError::Invalid {
                path: images_file.to_path_buf(),
                message: "FashionMNIST's IDX files hold u8 values".into(),
            });
        };
        Ok(CustomImageDataset {
            images: pixels,
            labels: classes,
            rows: images.dims[1],
            cols: images.dims[2],
        })
    }
}

impl Dataset for CustomImageDataset {
    fn len(&self) -> usize {
        self.labels.len()
    }

    fn get(&self, idx: usize) -> (Tensor, f32) {
        let size = self.rows * self.cols;
        let image = ToTensor.apply(
            &self.images[idx * size..(idx + 1) * size],
            self.rows,
            self.cols,
        );
        (image, self.labels[idx] as f32)
    }
}

fn main() -> Result<(), DatasetError> {
    manual_seed(0);

    // training_data = datasets.FashionMNIST(root="data", train=True, download=True, transform=ToTensor())
    // test_data = datasets.FashionMNIST(root="data", train=False, download=True, transform=ToTensor())
    let training_data = Mnist::fashion_mnist("data", true, true)?;
    let test_data = Mnist::fashion_mnist("data", false, true)?;

    // labels_map = {0: "T-Shirt", 1: "Trouser", ...}
    // cols, rows = 3, 3
    // for i in range(1, cols * rows + 1):
    //     sample_idx = torch.randint(len(training_data), size=(1,)).item()
    //     img, label = training_data[sample_idx]
    //     plt.title(labels_map[label]); plt.imshow(img.squeeze(), cmap="gray")
    let labels_map = [
        "T-Shirt",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle Boot",
    ];
    let (cols, rows) = (3, 3);
    for _ in 1..cols * rows + 1 {
        let sample_idx = Tensor::randint(0, training_data.len() as i64, &[1]).item() as usize;
        let (img, label) = training_data.get(sample_idx);
        println!("{}:", labels_map[label as usize]);
        imshow(&img.squeeze(0));
    }

    // The same files through the custom dataset.
    let raw = Path::new("data/FashionMNIST/raw");
    let custom = CustomImageDataset::new(
        &raw.join("train-images-idx3-ubyte"),
        &raw.join("train-labels-idx1-ubyte"),
    )?;
    assert_eq!(custom.len(), training_data.len());
    assert_eq!(custom.get(0).0.to_vec(), training_data.get(0).0.to_vec());

    // train_dataloader = DataLoader(training_data, batch_size=64, shuffle=True)
    // test_dataloader = DataLoader(test_data, batch_size=64, shuffle=True)
    let train_dataloader = DataLoader::new(training_data, 64).shuffle(true);
    let _test_dataloader = DataLoader::new(test_data, 64).shuffle(true);

    // train_features, train_labels = next(iter(train_dataloader))
    // print(f"Feature batch shape: {train_features.size()}")
    // print(f"Labels batch shape: {train_labels.size()}")
    // img = train_features[0].squeeze()
    // label = train_labels[0]
    // plt.imshow(img, cmap="gray")
    // print(f"Label: {label}")
    let (train_features, train_labels) = train_dataloader
        .iter()
        .next()
        .expect("60,000 images make batches");
    println!("Feature batch shape: {:?}", train_features.shape());
    println!("Labels batch shape: {:?}", train_labels.shape());
    let img = train_features.select(0, 0).squeeze(0);
    let label = train_labels.select(0, 0);
    imshow(&img);
    println!("Label: {}", label.item());
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
