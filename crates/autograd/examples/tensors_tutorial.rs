//! PyTorch's "Tensors" tutorial, line for line (each Python line above its
//! Rust). Tensors here are f32 on the CPU, so the dtype and device lines have
//! no counterpart, and a `Vec<f32>` (`to_vec`, `from_vec`) stands in for the
//! NumPy bridge: it copies, where NumPy shares memory. Random values come
//! from ferrograd's generator, so they differ from the tutorial's.
//! Run with `cargo run -p autograd --example tensors_tutorial`.

use autograd::{manual_seed, Tensor};

fn main() {
    manual_seed(0);

    // data = [[1, 2],[3, 4]]
    // x_data = torch.tensor(data)
    let data = vec![1.0, 2.0, 3.0, 4.0];
    let x_data = Tensor::from_vec(data, &[2, 2]);

    // x_ones = torch.ones_like(x_data) # retains the properties of x_data
    // print(f"Ones Tensor: \n {x_ones} \n")
    // x_rand = torch.rand_like(x_data, dtype=torch.float)
    // print(f"Random Tensor: \n {x_rand} \n")
    let x_ones = Tensor::ones_like(&x_data);
    println!("Ones Tensor: \n {x_ones} \n");
    let x_rand = Tensor::rand_like(&x_data);
    println!("Random Tensor: \n {x_rand} \n");

    // shape = (2,3,)
    // rand_tensor = torch.rand(shape)
    // ones_tensor = torch.ones(shape)
    // zeros_tensor = torch.zeros(shape)
    let shape = [2, 3];
    let rand_tensor = Tensor::rand(&shape);
    let ones_tensor = Tensor::ones(&shape);
    let zeros_tensor = Tensor::zeros(&shape);
    println!("Random Tensor: \n {rand_tensor} \n");
    println!("Ones Tensor: \n {ones_tensor} \n");
    println!("Zeros Tensor: \n {zeros_tensor}");

    // tensor = torch.rand(3,4)
    // print(f"Shape of tensor: {tensor.shape}")
    let tensor = Tensor::rand(&[3, 4]);
    println!("Shape of tensor: {:?}", tensor.shape());

    // tensor = torch.ones(4, 4)
    // print(f"First row: {tensor[0]}")
    // print(f"First column: {tensor[:, 0]}")
    // print(f"Last column: {tensor[..., -1]}")
    // tensor[:,1] = 0
    // print(tensor)
    let tensor = Tensor::ones(&[4, 4]);
    println!("First row: {}", tensor.select(0, 0));
    println!("First column: {}", tensor.select(1, 0));
    println!("Last column: {}", tensor.select(-1, -1));
    tensor.select(1, 1).fill_(0.0);
    println!("{tensor}");

    // t1 = torch.cat([tensor, tensor, tensor], dim=1)
    // print(t1)
    let t1 = Tensor::cat(&[&tensor, &tensor, &tensor], 1);
    println!("{t1}");

    // y1 = tensor @ tensor.T
    // y2 = tensor.matmul(tensor.T)
    // y3 = torch.rand_like(y1)
    // torch.matmul(tensor, tensor.T, out=y3)
    let y1 = tensor.matmul(&tensor.t());
    let y2 = tensor.matmul(&tensor.t());
    let y3 = Tensor::rand_like(&y1);
    y3.copy_(&tensor.matmul(&tensor.t()));
    assert_eq!((y1.to_vec(), y2.to_vec()), (y3.to_vec(), y3.to_vec()));

    // z1 = tensor * tensor
    // z2 = tensor.mul(tensor)
    // z3 = torch.rand_like(tensor)
    // torch.mul(tensor, tensor, out=z3)
    let z1 = &tensor * &tensor;
    let z2 = tensor.mul(&tensor);
    let z3 = Tensor::rand_like(&tensor);
    z3.copy_(&(&tensor * &tensor));
    assert_eq!((z1.to_vec(), z2.to_vec()), (z3.to_vec(), z3.to_vec()));

    // agg = tensor.sum()
    // agg_item = agg.item()
    // print(agg_item, type(agg_item))
    let agg = tensor.sum();
    let agg_item = agg.item();
    println!("{agg_item:?} f32");

    // print(f"{tensor} \n")
    // tensor.add_(5)
    // print(tensor)
    println!("{tensor} \n");
    tensor.add_scalar_(5.0);
    println!("{tensor}");

    // t = torch.ones(5)
    // print(f"t: {t}")
    // n = t.numpy()
    // print(f"n: {n}")
    let t = Tensor::ones(&[5]);
    println!("t: {t}");
    let n = t.to_vec();
    println!("n: {n:?}");

    // n = np.ones(5)
    // t = torch.from_numpy(n)
    let n = vec![1.0; 5];
    let t = Tensor::from_vec(n, &[5]);
    println!("t: {t}");
}

/// CI runs the example (`test = true` in Cargo.toml), so that it cannot rot.
#[test]
fn the_example_runs() {
    main();
}
