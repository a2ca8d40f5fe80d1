//! Loss and accuracy curves of a run, drawn with plotters (to be written).

/// One logged training step: the loss of the batch and how far into the run it was.
#[derive(Clone, Debug)]
pub struct StepPoint {
    /// 1-based epoch.
    pub epoch: u32,
    /// Training samples seen since the start of the run (epochs before this one included).
    pub samples_seen: u64,
    pub loss: f64,
}

/// The test pass after an epoch.
#[derive(Clone, Debug)]
pub struct EpochPoint {
    pub epoch: u32,
    /// Fraction of test images classified correctly, in [0, 1].
    pub accuracy: f64,
    pub avg_loss: f64,
}

// TEMPORARY until the plot helper lands its file.
pub fn draw(_: &std::path::Path, _: &[StepPoint], _: &[EpochPoint]) -> anyhow::Result<()> {
    anyhow::bail!("plotting is not available yet")
}
