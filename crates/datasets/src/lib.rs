//! ferrograd's datasets crate (being built).
