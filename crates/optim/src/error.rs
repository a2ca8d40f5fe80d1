//! The one error type of the crate.

use std::fmt;

/// Why an optimizer, a scheduler or a clipping call refused its input.
#[derive(Debug, Clone, PartialEq)]
pub enum OptimError {
    /// An argument PyTorch rejects, in PyTorch's words where it has them
    /// (`Invalid learning rate: -0.1`).
    InvalidArgument(String),
    /// A saved state that does not fit this optimizer or scheduler; names the key.
    BadState(String),
}

impl OptimError {
    pub(crate) fn invalid(message: impl Into<String>) -> OptimError {
        OptimError::InvalidArgument(message.into())
    }

    pub(crate) fn bad_state(message: impl Into<String>) -> OptimError {
        OptimError::BadState(message.into())
    }
}

impl fmt::Display for OptimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OptimError::InvalidArgument(message) => write!(f, "{message}"),
            OptimError::BadState(message) => write!(f, "cannot load state: {message}"),
        }
    }
}

impl std::error::Error for OptimError {}

/// PyTorch's `if not 0.0 <= value: raise ValueError(f"Invalid {what}: {value}")`
/// (NaN fails it too).
pub(crate) fn check_non_negative(what: &str, value: f64) -> Result<(), OptimError> {
    if value >= 0.0 {
        Ok(())
    } else {
        Err(OptimError::invalid(format!("Invalid {what}: {value}")))
    }
}
