//! PyTorch's "Automatic Differentiation with torch.autograd" tutorial, line
//! for line (each Python line above its Rust). The random `w` and `b` come
//! from ferrograd's generator, so the numbers differ from the tutorial's;
//! `tests/autograd_tutorial.rs` checks them from PyTorch's own `w` and `b`.
//! Run with `cargo run -p nn --example autograd_tutorial`.

use autograd::{manual_seed, no_grad, BackwardOptions, Tensor};
use nn::functional::{binary_cross_entropy_with_logits, Reduction};

fn main() {
    manual_seed(0);

    // x = torch.ones(5)  # input tensor
    // y = torch.zeros(3)  # expected output
    // w = torch.randn(5, 3, requires_grad=True)
    // b = torch.randn(3, requires_grad=True)
    // z = torch.matmul(x, w)+b
    // loss = torch.nn.functional.binary_cross_entropy_with_logits(z,y)
    let x = Tensor::ones(&[5]);
    let y = Tensor::zeros(&[3]);
    let w = Tensor::randn(&[5, 3]).requires_grad_(true);
    let b = Tensor::randn(&[3]).requires_grad_(true);
    let z = x.matmul(&w).add(&b);
    let loss = binary_cross_entropy_with_logits(&z, &y, None, None, Reduction::Mean);

    // print(f"Gradient function for z = {z.grad_fn}")
    // print(f"Gradient function for loss = {loss.grad_fn}")
    println!(
        "Gradient function for z = {}",
        z.grad_fn().unwrap_or("None")
    );
    println!(
        "Gradient function for loss = {}",
        loss.grad_fn().unwrap_or("None")
    );

    // loss.backward()
    // print(w.grad)
    // print(b.grad)
    loss.backward()
        .expect("loss is a scalar that requires grad");
    println!("{}", w.grad().expect("w requires grad"));
    println!("{}", b.grad().expect("b requires grad"));

    // z = torch.matmul(x, w)+b
    // print(z.requires_grad)
    // with torch.no_grad():
    //     z = torch.matmul(x, w)+b
    // print(z.requires_grad)
    let z = x.matmul(&w).add(&b);
    println!("{}", z.requires_grad());
    let z = no_grad(|| x.matmul(&w).add(&b));
    println!("{}", z.requires_grad());

    // z = torch.matmul(x, w)+b
    // z_det = z.detach()
    // print(z_det.requires_grad)
    let z = x.matmul(&w).add(&b);
    let z_det = z.detach();
    println!("{}", z_det.requires_grad());

    // inp = torch.eye(4, 5, requires_grad=True)
    // out = (inp+1).pow(2).t()
    // out.backward(torch.ones_like(out), retain_graph=True)
    // print(f"First call\n{inp.grad}")
    // out.backward(torch.ones_like(out), retain_graph=True)
    // print(f"\nSecond call\n{inp.grad}")
    // inp.grad.zero_()
    // out.backward(torch.ones_like(out), retain_graph=True)
    // print(f"\nCall after zeroing gradients\n{inp.grad}")
    let inp = Tensor::eye(4, 5).requires_grad_(true);
    let out = inp.add_scalar(1.0).pow(2.0).t();
    let retain_graph = || BackwardOptions {
        gradient: Some(Tensor::ones_like(&out)),
        retain_graph: true,
    };
    out.backward_opts(retain_graph())
        .expect("the graph is retained");
    println!("First call\n{}", inp.grad().expect("inp requires grad"));
    out.backward_opts(retain_graph())
        .expect("the graph is retained");
    println!("\nSecond call\n{}", inp.grad().expect("inp requires grad"));
    inp.grad().expect("inp requires grad").zero_();
    out.backward_opts(retain_graph())
        .expect("the graph is retained");
    println!(
        "\nCall after zeroing gradients\n{}",
        inp.grad().expect("inp requires grad")
    );
}

/// CI runs the example (`test = true` in Cargo.toml), so that it cannot rot.
#[test]
fn the_example_runs() {
    main();
}
