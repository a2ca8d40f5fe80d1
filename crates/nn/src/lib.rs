//! ferrograd's nn crate (being built).
