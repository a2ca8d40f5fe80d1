fn main() { eprintln!("ferrograd: not built yet"); std::process::exit(2); }
