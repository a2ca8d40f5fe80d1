//! After the first step (which allocates the state buffers), a step allocates
//! nothing: each parameter's update is one fused pass over existing buffers.
//! This binary counts the allocations of the test thread.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use autograd::Tensor;
use optim::{build, OptimOptions};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator; only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> usize {
    ALLOCATIONS.with(|n| n.get())
}

#[test]
fn steps_after_the_first_do_not_allocate() {
    let options = OptimOptions {
        momentum: 0.9,
        ..Default::default()
    };
    for name in optim::OPTIMIZERS {
        let params = vec![
            Tensor::randn(&[64, 32]).requires_grad_(true),
            Tensor::randn(&[32]).requires_grad_(true),
        ];
        let options = if matches!(*name, "sgd" | "rmsprop") {
            options.clone()
        } else {
            OptimOptions::default()
        };
        let mut opt = build(name, params.clone(), &options).unwrap();
        let loss = params[0].sum().add(&params[1].mul(&params[1]).sum());
        loss.backward().unwrap();
        let before_first = allocations();
        opt.step();
        assert!(
            allocations() > before_first,
            "{name}: the first step allocates the state (the counter works)"
        );
        let before = allocations();
        for _ in 0..10 {
            opt.step();
        }
        assert_eq!(
            allocations() - before,
            0,
            "{name}: steps after the first allocated"
        );
    }
}
