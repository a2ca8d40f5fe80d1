//! ferrograd's optim crate (being built).
